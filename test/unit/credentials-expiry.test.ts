import { SignJWT } from 'jose';
import { describe, expect, it } from 'vitest';
import { credentialsExpiry } from '../../src/auth/expiry.js';
import { jwtVerifier } from '../../src/auth/jwt.js';

describe('credentials expiry', () => {
  it("is a JWT's exp with the clock tolerance, kept beside the principal (not one of its attributes)", async () => {
    const secret = 'a-jwt-secret-of-at-least-32-characters!!';
    const verify = jwtVerifier({
      secret,
      issuer: 'https://issuer.test/',
      audience: 'takeout',
      clockToleranceSeconds: 30,
    });
    const exp = Math.floor(Date.now() / 1000) + 120;
    const token = await new SignJWT({ sub: 'ann' })
      .setProtectedHeader({ alg: 'HS256' })
      .setIssuer('https://issuer.test/')
      .setAudience('takeout')
      .setExpirationTime(exp)
      .sign(new TextEncoder().encode(secret));
    const principal = await verify(token);
    expect(principal).toEqual({ id: 'ann' });
    expect(credentialsExpiry(principal)).toBe((exp + 30) * 1000);
    expect(credentialsExpiry({ id: 'ann' })).toBeUndefined();
  });
});
