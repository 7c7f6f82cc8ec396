/**
 * Name resolution for per-export webhooks: a host name the allow-list matched may still
 * resolve to a loopback, private, link-local (cloud metadata at 169.254.169.254) or other
 * non-public address, since the name's DNS is not the operator's. The check runs inside the
 * connection's own lookup, so the address checked is the address connected to (a second,
 * different DNS answer cannot slip in between). Addresses written in the URL are not looked
 * up: the operator listed them as they are. The ranges are ipaddr.js's, which also unwraps
 * IPv4-mapped IPv6 addresses.
 */
import { lookup as dnsLookup, type LookupAddress, type LookupOptions } from 'node:dns';
import type { LookupFunction } from 'node:net';
import ipaddr from 'ipaddr.js';

/**
 * A host name that does not resolve to a public address: one of its answers is not public, or
 * it has none (the resolver failed: no such name, no answer); the request is not made. The
 * export's owner reads the message (last_error), so it is the same in every case and holds no
 * address: telling "points somewhere internal" from "no such name" apart would tell them which
 * internal names exist, and where they point. `address` (the refused answer) and `cause` (the
 * resolver's error) keep the detail for the operator.
 */
export class NotPublicAddressError extends Error {
  readonly code = 'ENOTPUBLIC';
  constructor(
    readonly hostname: string,
    readonly address: string | undefined,
    options?: { cause?: unknown },
  ) {
    super(
      `${hostname} does not resolve to a public address: not called ` +
        '(list the address itself in TAKEOUT_WEBHOOK_ALLOW, or set TAKEOUT_WEBHOOK_ALLOW_PRIVATE=true)',
      options,
    );
    this.name = 'NotPublicAddressError';
  }
}

/** Whether `address` is a public unicast address (not loopback, private, link-local, reserved ...). */
export function isPublicAddress(address: string): boolean {
  try {
    // ::/96 (IPv4-compatible, deprecated): nothing public lives there, and ipaddr.js reads its
    // forms differently (`::7f00:1` unicast, `::127.0.0.1` unwrapped to loopback).
    const written = ipaddr.parse(address);
    if (written.kind() === 'ipv6' && (written as ipaddr.IPv6).parts.slice(0, 6).every((part) => part === 0)) {
      return false;
    }
    const parsed = ipaddr.process(address);
    return parsed.range() === 'unicast';
  } catch {
    return false;
  }
}

type Lookup = (
  hostname: string,
  options: LookupOptions,
  callback: (error: NodeJS.ErrnoException | null, address: string | LookupAddress[], family?: number) => void,
) => void;

/**
 * A connection `lookup` that fails with NotPublicAddressError when any answer is not public,
 * and when there is none: the resolver's own error (ENOTFOUND ...) is its `cause`.
 */
export function publicOnlyLookup(lookup: Lookup = dnsLookup as Lookup): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, options, (error, address, family) => {
      if (error) {
        callback(new NotPublicAddressError(hostname, undefined, { cause: error }), '', family);
        return;
      }
      const answers = typeof address === 'string' ? [address] : address.map((answer) => answer.address);
      if (answers.length === 0) {
        callback(new NotPublicAddressError(hostname, undefined), '', family);
        return;
      }
      const refused = answers.find((answer) => !isPublicAddress(answer));
      if (refused !== undefined) {
        callback(new NotPublicAddressError(hostname, refused), '', family);
        return;
      }
      callback(null, address as string, family);
    });
  };
}
