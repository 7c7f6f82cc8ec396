/**
 * Links to files that Takeout serves itself (the disk and memory drivers): HMAC-signed URLs
 * under a route prefix, checked by `GET /files/*` (src/http/routes/files.ts).
 */
import { sanitizeFilename } from '../content-disposition.js';
import { TakeoutError } from '../errors.js';
import { isValidKey } from './keys.js';
import { claimsFromQuery, LINK_PARAMS, linkSigner } from './signing.js';
import type { SignedUrlOptions } from './types.js';
import { assertLinkOptions } from './validation.js';

export interface ServedLinksOptions {
  secret: string;
  /** Origin put in front of links; default none (relative links). */
  baseUrl?: string | undefined;
  /** Path where the files route is mounted. Default `/files`. */
  routePrefix?: string | undefined;
}

export interface ServedLinks {
  readonly routePrefix: string;
  /** A signed link; the caller has checked that `key` is a valid key. */
  signedUrl(key: string, opts: SignedUrlOptions): string;
  /** Checks a link's signature and expiry; returns what it grants. Throws `invalid_link` / `link_expired`. */
  verifyLink(
    key: string,
    query: Record<string, unknown>,
    now?: Date,
  ): { filename: string; contentType: string };
}

export function servedLinks(options: ServedLinksOptions): ServedLinks {
  const segments = (options.routePrefix ?? '/files').replace(/^\/+|\/+$/g, '');
  // `/` would make links protocol-relative (`//generated/...`: a browser sends the signature to
  // a host named `generated`) and the file route a catch-all.
  if (segments === '') throw new TakeoutError('config_error', 'routePrefix must name a path, e.g. /files');
  const routePrefix = `/${segments}`;
  const baseUrl = (options.baseUrl ?? '').replace(/\/+$/, '');
  const signer = linkSigner(options.secret);
  return {
    routePrefix,
    signedUrl(key, opts) {
      assertLinkOptions(opts);
      // Rounded up: the link lives at least `expiresIn` seconds, never a fraction less; but
      // never past `notAfter` (rounded down).
      const wanted = Math.ceil(Date.now() / 1000) + opts.expiresIn;
      const expires = opts.notAfter ? Math.min(wanted, Math.floor(opts.notAfter.getTime() / 1000)) : wanted;
      const claims = {
        key,
        expires,
        filename: sanitizeFilename(opts.filename),
        contentType: opts.contentType,
      };
      const query = new URLSearchParams({
        [LINK_PARAMS.expires]: String(expires),
        [LINK_PARAMS.filename]: claims.filename,
        [LINK_PARAMS.contentType]: claims.contentType,
        [LINK_PARAMS.signature]: signer.sign(claims),
      });
      const path = key.split('/').map(encodeURIComponent).join('/');
      return `${baseUrl}${routePrefix}/${path}?${query}`;
    },
    verifyLink(key, query, now) {
      if (!isValidKey(key)) throw new TakeoutError('invalid_link', 'The download link is not valid');
      const { claims, signature } = claimsFromQuery(key, query);
      signer.verify(claims, signature, now);
      return { filename: claims.filename, contentType: claims.contentType };
    },
  };
}
