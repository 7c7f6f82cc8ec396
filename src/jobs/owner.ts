import type { Principal } from '../datasets/define.js';
import type { JobOwner } from './types.js';

/** Whose a job is: the principal's id and tenant (a tenant given as anything, kept as text). */
export function ownerOf(principal: Principal): JobOwner {
  return principal.tenant === undefined
    ? { id: principal.id }
    : { id: principal.id, tenant: String(principal.tenant) };
}
