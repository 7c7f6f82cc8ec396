import { createHash, timingSafeEqual } from 'node:crypto';
import type { Principal } from '../datasets/define.js';
import { TakeoutError } from '../errors.js';

/** An API token as it is kept: its SHA-256, never the token itself. */
export interface HashedToken {
  sha256: Buffer;
  principal: Principal;
}

/** SHA-256 of a token's UTF-8 bytes. */
export function tokenDigest(token: string): Buffer {
  return createHash('sha256').update(token, 'utf8').digest();
}

/**
 * Looks a presented token up among digests. Both sides are SHA-256 digests, so the
 * comparison takes the same time whatever the lengths, and every entry is compared: the time
 * does not tell which token (or how much of one) matched.
 */
export function tokenTable(entries: readonly HashedToken[]): (token: string) => Principal | undefined {
  const table = entries.map((e) => ({ sha256: Buffer.from(e.sha256), principal: { ...e.principal } }));
  return (token) => {
    const given = tokenDigest(token);
    let found: Principal | undefined;
    for (const entry of table) if (timingSafeEqual(entry.sha256, given)) found ??= entry.principal;
    return found ? { ...found } : undefined;
  };
}

/**
 * The config file's `tokens`: `[{ "sha256": "<64 hex digits>", "id": "alice", "tenant": "acme" }]`.
 * Only digests sit in the file; `takeout token` makes a token and prints its entry.
 */
export function parseTokenEntries(raw: unknown, source: string): HashedToken[] {
  if (raw === undefined) return [];
  const bad = (message: string) => new TakeoutError('config_error', `${source}: ${message}`);
  if (!Array.isArray(raw)) throw bad('"tokens" must be an array of { sha256, id, tenant? }');
  const seen = new Set<string>();
  return raw.map((entry: unknown, i) => {
    const e = (entry ?? {}) as Record<string, unknown>;
    const { sha256, id, tenant } = e;
    if (typeof sha256 !== 'string' || !/^[0-9a-f]{64}$/i.test(sha256)) {
      throw bad(`tokens[${i}].sha256 must be the token's SHA-256 as 64 hex digits`);
    }
    if (typeof id !== 'string' || id === '') throw bad(`tokens[${i}].id must be a non-empty string`);
    if (tenant !== undefined && (typeof tenant !== 'string' || tenant === '')) {
      throw bad(`tokens[${i}].tenant must be a non-empty string`);
    }
    const unknown = Object.keys(e).find((k) => k !== 'sha256' && k !== 'id' && k !== 'tenant');
    if (unknown)
      throw bad(`tokens[${i}] has an unknown member "${unknown}" (a token itself never goes in the file)`);
    if (seen.has(sha256.toLowerCase())) throw bad(`tokens[${i}] repeats a token`);
    seen.add(sha256.toLowerCase());
    return { sha256: Buffer.from(sha256, 'hex'), principal: tenant ? { id, tenant } : { id } };
  });
}
