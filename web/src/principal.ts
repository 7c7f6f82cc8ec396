/**
 * Whose token it is, as far as the page can tell without asking the server (no route names the
 * caller). A token handed over again for the same user (an embedding app renewing a short-lived
 * JWT) must not wipe the page; another user's must.
 */

/** Claims that change each time a JWT is issued: they do not say who the token is for. */
const PER_ISSUE = new Set(['exp', 'iat', 'nbf', 'jti', 'auth_time']);

/**
 * A key that is equal for two tokens of the same user. A JWT's is its claims without the
 * per-issue ones: `sub`, and whichever claim the server reads the tenant from (the page cannot
 * know which), must all be equal. Any other token (an API token) is its own key.
 * `undefined` (development mode, nobody signs in) is the empty key.
 */
export function principalKey(token: string | undefined): string {
  if (token === undefined) return '';
  const claims = jwtClaims(token);
  if (!claims || typeof claims.sub !== 'string') return `token:${token}`;
  const identity = Object.keys(claims)
    .filter((name) => !PER_ISSUE.has(name))
    .sort()
    .map((name) => [name, claims[name]]);
  return `jwt:${JSON.stringify(identity)}`;
}

/** The payload of a compact JWS, undecoded when the token is not one. Not verified: the server does that. */
function jwtClaims(token: string): Record<string, unknown> | undefined {
  const parts = token.split('.');
  if (parts.length !== 3 || !parts[1]) return undefined;
  try {
    const base64 = parts[1].replace(/-/g, '+').replace(/_/g, '/');
    const bytes = Uint8Array.from(atob(base64), (c) => c.charCodeAt(0));
    const claims: unknown = JSON.parse(new TextDecoder().decode(bytes));
    return claims !== null && typeof claims === 'object' && !Array.isArray(claims)
      ? (claims as Record<string, unknown>)
      : undefined;
  } catch {
    return undefined;
  }
}
