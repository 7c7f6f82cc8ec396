import type { Principal } from '../datasets/define.js';

/**
 * When the credentials a principal was authenticated with end (a JWT's `exp`, with the clock
 * tolerance), kept beside the principal rather than on it: a principal's members are its
 * attributes, which datasets may bind. A long-lived answer (a progress stream) ends then, and
 * the client comes back with fresh credentials.
 */
const expiries = new WeakMap<Principal, number>();

export function setCredentialsExpiry(principal: Principal, atMs: number): Principal {
  expiries.set(principal, atMs);
  return principal;
}

/** Epoch ms, or undefined for credentials that do not expire (API tokens). */
export function credentialsExpiry(principal: Principal): number | undefined {
  return expiries.get(principal);
}
