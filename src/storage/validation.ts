import { TakeoutError } from '../errors.js';
import { MAX_LINK_TTL_SECONDS, type SignedUrlOptions } from './types.js';

// type/subtype with optional parameters; no control characters, so it is safe in a header.
const CONTENT_TYPE = /^[\w!#$&^.+-]+\/[\w!#$&^.+-]+(\s*;\s*[\w!#$&^.+-]+=("[^"\\\r\n]*"|[\w!#$&^.+-]+))*$/;

/** Link lifetimes: whole seconds, 1 s to 7 days (the SigV4 maximum, applied to both drivers). */
export function assertLinkOptions(opts: SignedUrlOptions): void {
  if (!Number.isInteger(opts.expiresIn) || opts.expiresIn < 1 || opts.expiresIn > MAX_LINK_TTL_SECONDS) {
    throw new TakeoutError(
      'invalid_request',
      `A link lifetime must be a whole number of seconds from 1 to ${MAX_LINK_TTL_SECONDS} (7 days)`,
      { details: { expiresIn: opts.expiresIn } },
    );
  }
  if (!CONTENT_TYPE.test(opts.contentType)) {
    throw new TakeoutError('invalid_request', 'The content type of a link is not valid');
  }
}
