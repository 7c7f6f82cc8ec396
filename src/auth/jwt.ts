import { type JWTPayload, type JWTVerifyGetKey, jwtVerify } from 'jose';
import type { Principal } from '../datasets/define.js';
import { TakeoutError } from '../errors.js';
import { setCredentialsExpiry } from './expiry.js';
import { issuerKeys } from './jwks.js';

/** JWT bearer tokens (docs/configuration.md, "Authentication"). */
export interface JwtSettings {
  /** HS256/384/512 shared secret (`TAKEOUT_JWT_SECRET`) ... */
  secret?: string;
  /** ... or the issuer's JSON Web Key Set for RS256, ES256 ... (`TAKEOUT_JWT_JWKS_URL`). */
  jwksUrl?: string;
  /** `iss` a token must carry (`TAKEOUT_JWT_ISSUER`). */
  issuer: string;
  /** `aud` a token must carry (`TAKEOUT_JWT_AUDIENCE`). */
  audience: string;
  /** Accepted `alg` values. Default: HS256 with a secret; RS256 and ES256 with a key set. */
  algorithms?: string[];
  /** Claim whose value becomes the principal's tenant (`TAKEOUT_JWT_TENANT_CLAIM`). */
  tenantClaim?: string;
  /** Leeway for `exp` and `nbf`, seconds (`TAKEOUT_JWT_CLOCK_TOLERANCE`). Default 30. */
  clockToleranceSeconds?: number;
}

export const SECRET_ALGORITHMS = ['HS256', 'HS384', 'HS512'];
export const KEY_SET_ALGORITHMS = [
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
];

/** A compact JWS: three base64url parts. */
export function looksLikeJwt(token: string): boolean {
  return /^[\w-]+\.[\w-]+\.[\w-]+$/.test(token);
}

function refused(reason: string): TakeoutError {
  return new TakeoutError('unauthorized', `The bearer token was refused: ${reason}`);
}

/** jose's failure codes as answers: the token's fault is 401, the key set's is 503. */
function mapError(error: unknown): TakeoutError {
  if (error instanceof TakeoutError) return error;
  const { code, claim } = (error ?? {}) as { code?: string; claim?: string };
  switch (code) {
    case 'ERR_JWT_EXPIRED':
      return refused('it has expired');
    case 'ERR_JWT_CLAIM_VALIDATION_FAILED':
      return refused(`its "${claim ?? 'unknown'}" claim is not accepted`);
    case 'ERR_JWS_SIGNATURE_VERIFICATION_FAILED':
      return refused('its signature is not valid');
    case 'ERR_JOSE_ALG_NOT_ALLOWED':
      return refused('its algorithm is not accepted');
    case 'ERR_JWKS_NO_MATCHING_KEY':
    case 'ERR_JWKS_MULTIPLE_MATCHING_KEYS':
      return refused('no single key of the issuer matches it');
    case 'ERR_JWS_INVALID':
    case 'ERR_JWT_INVALID':
    case 'ERR_JOSE_NOT_SUPPORTED':
    case 'ERR_JWK_INVALID':
      return refused('it is malformed');
    default:
      // The key set could not be fetched (timeout, network, bad document): not the caller's fault.
      return new TakeoutError(
        'auth_unavailable',
        'The token issuer’s keys could not be fetched; retry later',
        {
          cause: error,
        },
      );
  }
}

function principalOf(payload: JWTPayload, tenantClaim: string | undefined): Principal {
  if (typeof payload.sub !== 'string' || payload.sub === '') throw refused('it has no "sub" claim');
  if (tenantClaim === undefined) return { id: payload.sub };
  const claim = payload[tenantClaim];
  if (claim === undefined) throw refused(`it has no "${tenantClaim}" claim`);
  // Numeric tenant ids are common: a whole number is its decimal text, as owners are stored.
  const tenant = typeof claim === 'number' && Number.isSafeInteger(claim) ? String(claim) : claim;
  if (typeof tenant !== 'string' || tenant === '') {
    throw refused(`its "${tenantClaim}" claim must be a non-empty string or a whole number`);
  }
  return { id: payload.sub, tenant };
}

/** Verifies a JWT and returns its principal: `sub` is the id, the tenant claim the tenant. */
export function jwtVerifier(settings: JwtSettings): (token: string) => Promise<Principal> {
  const key: Uint8Array | JWTVerifyGetKey = settings.secret
    ? new TextEncoder().encode(settings.secret)
    : issuerKeys(new URL(settings.jwksUrl ?? ''));
  const options = {
    issuer: settings.issuer,
    audience: settings.audience,
    algorithms: settings.algorithms ?? (settings.secret ? ['HS256'] : ['RS256', 'ES256']),
    clockTolerance: settings.clockToleranceSeconds ?? 30,
    requiredClaims: ['sub', 'exp'],
  };
  return async (token) => {
    try {
      const { payload } =
        key instanceof Uint8Array
          ? await jwtVerify(token, key, options)
          : await jwtVerify(token, key, options);
      const principal = principalOf(payload, settings.tenantClaim);
      // `exp` is required: what is accepted within the clock tolerance ends with it too.
      return setCredentialsExpiry(principal, ((payload.exp ?? 0) + options.clockTolerance) * 1000);
    } catch (error) {
      throw mapError(error);
    }
  };
}
