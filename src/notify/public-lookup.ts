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

/** A host name resolved to an address that is not public; the request is not made. */
export class NotPublicAddressError extends Error {
  readonly code = 'ENOTPUBLIC';
  constructor(
    readonly hostname: string,
    readonly address: string,
  ) {
    // The address is not in the message: the export's owner reads it (last_error), and it
    // would tell them where an internal name points.
    super(
      `${hostname} resolves to an address that is not public: not called ` +
        '(list the address itself in TAKEOUT_WEBHOOK_ALLOW, or set TAKEOUT_WEBHOOK_ALLOW_PRIVATE=true)',
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

/** A connection `lookup` that fails with NotPublicAddressError when any answer is not public. */
export function publicOnlyLookup(lookup: Lookup = dnsLookup as Lookup): LookupFunction {
  return (hostname, options, callback) => {
    lookup(hostname, options, (error, address, family) => {
      if (error) {
        callback(error, address as string, family);
        return;
      }
      const answers = typeof address === 'string' ? [address] : address.map((answer) => answer.address);
      const refused = answers.find((answer) => !isPublicAddress(answer));
      if (refused !== undefined) {
        callback(new NotPublicAddressError(hostname, refused), '', family);
        return;
      }
      callback(null, address as string, family);
    });
  };
}
