import {
  createLocalJWKSet,
  createRemoteJWKSet,
  type JSONWebKeySet,
  type JWTVerifyGetKey,
  jwksCache,
} from 'jose';
import { TakeoutError } from '../errors.js';

/**
 * The issuer's key set (`TAKEOUT_JWT_JWKS_URL`), kept through the issuer's outages. jose's
 * remote set alone refetches on every request once its cache is stale and a fetch fails: after
 * 10 minutes of an outage every user was locked out, and each request (an unauthenticated one
 * with an unknown `kid` too) sent one more fetch to the failing issuer. Here:
 * - the keys last fetched stay in use while fetches fail, up to STALE_MAX_MS after that fetch;
 * - after a failed fetch the next is tried RETRY_MS later, whatever comes meanwhile;
 * - an unknown `kid` while fetches fail is `auth_unavailable` (it may be a key rotated in that
 *   could not be fetched), not a refusal of the token.
 */
const FETCH_TIMEOUT_MS = 5000;
/** An unknown `kid` fetches the set again at most this often: a key rotated in is seen within it. */
const COOLDOWN_MS = 10_000;
/** The set is fetched again after this. */
const MAX_AGE_MS = 10 * 60_000;
/** After a failed fetch, no other before this. */
export const JWKS_RETRY_MS = 5000;
/** How long the keys last fetched stay in use while fetches fail, from that fetch. */
const STALE_MAX_MS = 24 * 3_600_000;

/** jose's codes for a token no key of a fetched set verifies: the token's fault, not the fetch's. */
const TOKEN_FAULTS = new Set([
  'ERR_JWKS_NO_MATCHING_KEY',
  'ERR_JWKS_MULTIPLE_MATCHING_KEYS',
  'ERR_JWS_INVALID',
  'ERR_JWT_INVALID',
  'ERR_JOSE_NOT_SUPPORTED',
  'ERR_JOSE_ALG_NOT_ALLOWED',
  'ERR_JWK_INVALID',
  'ERR_JWS_SIGNATURE_VERIFICATION_FAILED',
]);

function isTokenFault(error: unknown): boolean {
  return TOKEN_FAULTS.has((error as { code?: string } | undefined)?.code ?? '');
}

function unavailable(cause: unknown): TakeoutError {
  return new TakeoutError('auth_unavailable', 'The token issuer’s keys could not be fetched; retry later', {
    cause,
  });
}

/** The timings above; tests shorten them. */
export interface IssuerKeyTimings {
  maxAgeMs?: number;
  retryMs?: number;
  now?: () => number;
}

export function issuerKeys(url: URL, timings: IssuerKeyTimings = {}): JWTVerifyGetKey {
  const { maxAgeMs = MAX_AGE_MS, retryMs = JWKS_RETRY_MS, now = Date.now } = timings;
  // jose writes every key set it fetches here, with the time: the fallback is exactly the
  // last fetched set (a key removed by the issuer stays removed), aged from its fetch.
  const fetched: { jwks?: JSONWebKeySet; uat?: number } = {};
  const remote = createRemoteJWKSet(url, {
    timeoutDuration: FETCH_TIMEOUT_MS,
    cooldownDuration: Math.min(COOLDOWN_MS, maxAgeMs),
    cacheMaxAge: maxAgeMs,
    [jwksCache]: fetched as Record<string, never>,
  });
  let kept: { getKey: ReturnType<typeof createLocalJWKSet>; uat: number } | undefined;
  const lastFetched = () => {
    if (fetched.jwks === undefined || fetched.uat === undefined) return undefined;
    if (kept?.uat !== fetched.uat) kept = { getKey: createLocalJWKSet(fetched.jwks), uat: fetched.uat };
    return kept;
  };
  let failedAt = Number.NEGATIVE_INFINITY;
  let lastFailure: unknown;
  return async (header, token) => {
    if (now() - failedAt >= retryMs) {
      try {
        return await remote(header, token);
      } catch (error) {
        if (isTokenFault(error)) throw error;
        failedAt = now();
        lastFailure = error;
      }
    }
    // The issuer cannot be reached: the keys it last gave, for a while.
    const keys = lastFetched();
    if (!keys || Date.now() - keys.uat >= STALE_MAX_MS) throw unavailable(lastFailure);
    try {
      return await keys.getKey(header, token);
    } catch (error) {
      const code = (error as { code?: string }).code;
      if (code === 'ERR_JWKS_NO_MATCHING_KEY') throw unavailable(lastFailure);
      throw error;
    }
  };
}
