import { type Authenticate, bearerTokenOf, unauthorized } from '../auth.js';
import { TakeoutError } from '../errors.js';
import { parseDuration } from '../storage/config.js';
import { type JwtSettings, jwtVerifier, KEY_SET_ALGORITHMS, looksLikeJwt, SECRET_ALGORITHMS } from './jwt.js';
import { type HashedToken, tokenTable } from './tokens.js';

const LOOPBACK_HOST = /^(127(\.\d{1,3}){3}|localhost|\[::1\])$/i;

/** JWT settings from `TAKEOUT_JWT_*`, or undefined when JWTs are not configured. */
export function jwtSettingsFromEnv(env: NodeJS.ProcessEnv): JwtSettings | undefined {
  const secret = env.TAKEOUT_JWT_SECRET || undefined;
  const jwksUrl = env.TAKEOUT_JWT_JWKS_URL || undefined;
  if (!secret && !jwksUrl) return undefined;
  const bad = (message: string) => new TakeoutError('config_error', message);
  if (secret && jwksUrl) throw bad('Set TAKEOUT_JWT_SECRET or TAKEOUT_JWT_JWKS_URL, not both');
  if (secret && secret.length < 32) throw bad('TAKEOUT_JWT_SECRET must be at least 32 characters');
  if (jwksUrl) {
    let url: URL;
    try {
      url = new URL(jwksUrl);
    } catch {
      throw bad('TAKEOUT_JWT_JWKS_URL is not a URL');
    }
    // Keys fetched in the clear could be swapped on the way; plain http only on this machine.
    if (url.protocol !== 'https:' && !(url.protocol === 'http:' && LOOPBACK_HOST.test(url.hostname))) {
      throw bad('TAKEOUT_JWT_JWKS_URL must be https:// (http:// only for a loopback address)');
    }
  }
  const issuer = env.TAKEOUT_JWT_ISSUER;
  const audience = env.TAKEOUT_JWT_AUDIENCE;
  if (!issuer || !audience) throw bad('JWT authentication needs TAKEOUT_JWT_ISSUER and TAKEOUT_JWT_AUDIENCE');
  const allowed = secret ? SECRET_ALGORITHMS : KEY_SET_ALGORITHMS;
  const algorithms = env.TAKEOUT_JWT_ALGORITHMS?.split(',')
    .map((a) => a.trim())
    .filter(Boolean);
  for (const alg of algorithms ?? []) {
    if (!allowed.includes(alg)) {
      throw bad(
        `TAKEOUT_JWT_ALGORITHMS: ${alg} is not one of ${allowed.join(', ')} (with ${secret ? 'a secret' : 'a key set'})`,
      );
    }
  }
  const settings: JwtSettings = { issuer, audience };
  if (secret) settings.secret = secret;
  if (jwksUrl) settings.jwksUrl = jwksUrl;
  if (algorithms?.length) settings.algorithms = algorithms;
  if (env.TAKEOUT_JWT_TENANT_CLAIM) settings.tenantClaim = env.TAKEOUT_JWT_TENANT_CLAIM;
  if (env.TAKEOUT_JWT_CLOCK_TOLERANCE) {
    const seconds = parseDuration(env.TAKEOUT_JWT_CLOCK_TOLERANCE, 'TAKEOUT_JWT_CLOCK_TOLERANCE');
    if (seconds > 300) throw bad('TAKEOUT_JWT_CLOCK_TOLERANCE must be at most 5 minutes');
    settings.clockToleranceSeconds = seconds;
  }
  return settings;
}

export interface AuthSources {
  /** Tokens from `TAKEOUT_API_TOKENS` and the config file, as digests. */
  tokens: readonly HashedToken[];
  jwt: JwtSettings | undefined;
}

/**
 * The service's `authenticate`: a bearer token is looked up among the known tokens first
 * (constant time), then, when it has a JWT's shape and JWTs are configured, verified as one.
 * Undefined when nothing is configured: the development mode.
 */
export function authenticatorFrom(sources: AuthSources): Authenticate | undefined {
  if (sources.tokens.length === 0 && !sources.jwt) return undefined;
  const lookup = tokenTable(sources.tokens);
  const verify = sources.jwt ? jwtVerifier(sources.jwt) : undefined;
  return async (request) => {
    const token = bearerTokenOf(request.headers);
    if (token === undefined) throw unauthorized('Send a bearer token as "Authorization: Bearer <token>"');
    const known = lookup(token);
    if (known) return known;
    if (verify && looksLikeJwt(token)) return verify(token);
    throw unauthorized();
  };
}
