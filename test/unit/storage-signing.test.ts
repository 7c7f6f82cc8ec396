import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { describe, expect, it } from 'vitest';
import { type DiskStorageOptions, diskStorage } from '../../src/storage/disk.js';
import { storageFromUrl } from '../../src/storage/factory.js';
import { memoryStorage } from '../../src/storage/memory.js';
import { servedLinks } from '../../src/storage/served-links.js';
import { claimsFromQuery, linkSigner, loadOrCreateSecret } from '../../src/storage/signing.js';
import { abortable, forEachConcurrent } from '../../src/storage/streams.js';

const SECRET = 'unit-secret-0123456789-abcdefghijklmnopq';

describe('link signing', () => {
  const signer = linkSigner(SECRET);
  const claims = {
    key: 'generated/2024/01/01/a/b.csv',
    expires: 2_000_000_000,
    filename: 'b.csv',
    contentType: 'text/csv',
  };

  it('verifies its own signature until the expiry instant, exclusive', () => {
    const sig = signer.sign(claims);
    expect(() => signer.verify(claims, sig, new Date(1_999_999_999_999))).not.toThrow();
    expect(() => signer.verify(claims, sig, new Date(2_000_000_000_000))).toThrow(
      expect.objectContaining({ code: 'link_expired' }),
    );
  });

  it('covers every claim', () => {
    const sig = signer.sign(claims);
    for (const changed of [
      { ...claims, key: 'generated/2024/01/01/a/c.csv' },
      { ...claims, expires: claims.expires + 1 },
      { ...claims, filename: 'c.csv' },
      { ...claims, contentType: 'text/html' },
    ]) {
      expect(() => signer.verify(changed, sig, new Date(0))).toThrow(
        expect.objectContaining({ code: 'invalid_link' }),
      );
    }
    expect(() => linkSigner(`${SECRET}x`).verify(claims, sig, new Date(0))).toThrow(
      expect.objectContaining({ code: 'invalid_link' }),
    );
    expect(() => signer.verify(claims, '', new Date(0))).toThrow(
      expect.objectContaining({ code: 'invalid_link' }),
    );
  });

  it('accepts one spelling of a signature only', () => {
    const sig = signer.sign(claims);
    // The last base64url character of a 32-byte MAC carries 2 spare bits: 4 spellings decode alike.
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const last = alphabet.indexOf(sig.at(-1)!);
    const sibling = sig.slice(0, -1) + alphabet[last ^ 1];
    expect(Buffer.from(sibling, 'base64url')).toEqual(Buffer.from(sig, 'base64url'));
    for (const variant of [sibling, `${sig}  `, `${sig}=`, `${sig}!`, ` ${sig}`]) {
      expect(() => signer.verify(claims, variant, new Date(0)), variant).toThrow(
        expect.objectContaining({ code: 'invalid_link' }),
      );
    }
    expect(() => signer.verify(claims, sig, new Date(0))).not.toThrow();
  });

  it('refuses malformed query parameters', () => {
    for (const query of [
      {},
      { exp: '1e9', fn: 'a', ct: 'b', sig: 'c' },
      { exp: ['1', '2'], fn: 'a', ct: 'b', sig: 'c' },
    ]) {
      expect(() => claimsFromQuery('k', query)).toThrow(expect.objectContaining({ code: 'invalid_link' }));
    }
  });

  it('puts the signed claims in the disk link, relative or under a base URL', async () => {
    const storage = diskStorage({ root: '/tmp/unused', secret: SECRET, baseUrl: 'https://x.example/' });
    const url = new URL(
      await storage.signedUrl(claims.key, {
        expiresIn: 60,
        filename: 'a\r\n"b".csv',
        contentType: 'text/csv',
      }),
    );
    expect(url.origin + url.pathname).toBe(`https://x.example/files/${claims.key}`);
    expect(url.searchParams.get('fn')).toBe('a_b_.csv'); // sanitised before signing
    const expires = Number(url.searchParams.get('exp'));
    expect(expires - Date.now() / 1000).toBeGreaterThan(59.5);
    expect(expires - Date.now() / 1000).toBeLessThanOrEqual(61);
    expect(storage.verifyLink(claims.key, Object.fromEntries(url.searchParams))).toEqual({
      filename: 'a_b_.csv',
      contentType: 'text/csv',
    });
    const relative = diskStorage({ root: '/tmp/unused', secret: SECRET, routePrefix: 'dl' });
    expect(
      await relative.signedUrl(claims.key, { expiresIn: 5, filename: 'x', contentType: 'text/csv' }),
    ).toMatch(/^\/dl\/generated\/2024\/01\/01\/a\/b\.csv\?exp=\d+&fn=x&ct=text%2Fcsv&sig=[\w-]{43}$/);
    // `/` alone would make links protocol-relative (`//generated/...`, another host).
    for (const routePrefix of ['/', '', '//']) {
      expect(() => diskStorage({ root: '/tmp/unused', secret: SECRET, routePrefix }), routePrefix).toThrow(
        expect.objectContaining({ code: 'config_error' }),
      );
    }
  });
});

describe('signing secrets given in code', () => {
  const tooShort = expect.objectContaining({
    name: 'TakeoutError',
    code: 'config_error',
    message: 'secret must be at least 32 characters',
  });

  it('need 32 characters, as TAKEOUT_SECRET does, wherever they are given', async () => {
    for (const secret of ['x', 's'.repeat(31)]) {
      expect(() => diskStorage({ root: '/tmp/unused', secret }), secret).toThrow(tooShort);
      expect(() => memoryStorage({ secret }), secret).toThrow(tooShort);
      expect(() => servedLinks({ secret }), secret).toThrow(tooShort);
      expect(() => linkSigner(secret), secret).toThrow(tooShort);
      await expect(storageFromUrl('file:/tmp/unused', { dataDir: '/tmp', secret })).rejects.toEqual(tooShort);
    }
    const notText = expect.objectContaining({
      code: 'config_error',
      message: expect.stringMatching(/^secret must be/),
    });
    expect(() => diskStorage({ root: '/tmp/unused', secret: 42 as unknown as string })).toThrow(notText);
    expect(() => diskStorage({ root: '/tmp/unused' } as DiskStorageOptions)).toThrow(notText);
    // The environment's path words it the same way, naming its variable.
    await expect(loadOrCreateSecret('/tmp/unused', { TAKEOUT_SECRET: 'x' })).rejects.toMatchObject({
      code: 'config_error',
      message: 'TAKEOUT_SECRET must be at least 32 characters',
    });
    expect(diskStorage({ root: '/tmp/unused', secret: 's'.repeat(32) }).kind).toBe('file');
    expect(memoryStorage().kind).toBe('memory'); // its own random secret is long enough
  });

  it('diskStorage without a root names the option', () => {
    const noRoot = expect.objectContaining({
      name: 'TakeoutError',
      code: 'config_error',
      message: expect.stringMatching(/^diskStorage needs a root\b/),
    });
    expect(() => diskStorage({} as DiskStorageOptions)).toThrow(noRoot);
    expect(() => diskStorage({ secret: SECRET } as DiskStorageOptions)).toThrow(noRoot);
    expect(() => diskStorage({ root: '', secret: SECRET })).toThrow(noRoot);
    expect(() => diskStorage(undefined as unknown as DiskStorageOptions)).toThrow(noRoot);
  });
});

describe('stream helpers', () => {
  it('abortable ends at once when the signal fires, even while the producer is stuck', async () => {
    let returned = false;
    const stuck = {
      [Symbol.asyncIterator]: () => ({
        next: () => new Promise<IteratorResult<number>>(() => {}),
        return: async () => {
          returned = true;
          return { done: true as const, value: undefined };
        },
      }),
    };
    const controller = new AbortController();
    setTimeout(() => controller.abort(new Error('stop')), 20);
    const consume = async () => {
      for await (const _ of abortable(stuck, controller.signal)) {
      }
    };
    await expect(consume()).rejects.toMatchObject({ code: 'aborted' });
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(returned).toBe(true);
  });

  it('abortable keeps no chunk it has handed on (an upload holds one chunk, not the file)', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const early: WeakRef<Uint8Array>[] = [];
    async function* chunks() {
      for (let i = 0; i < 64; i++) {
        const chunk = new Uint8Array(64 * 1024);
        if (i < 8) early.push(new WeakRef(chunk));
        yield chunk;
      }
    }
    const controller = new AbortController(); // never fires
    let bytes = 0;
    let alive = -1;
    for await (const chunk of abortable(chunks(), controller.signal)) {
      bytes += chunk.byteLength;
      if (bytes === 40 * 64 * 1024) {
        // Mid-upload: the first chunks are long written; nothing may hold them any more.
        gc();
        await new Promise((resolve) => setTimeout(resolve, 0));
        gc();
        alive = early.filter((ref) => ref.deref() !== undefined).length;
      }
    }
    expect(bytes).toBe(64 * 64 * 1024);
    // Racing each next() against one long-lived abort promise kept every result reachable.
    expect(alive).toBe(0);
  });

  it('forEachConcurrent never runs more than the limit at once', async () => {
    let running = 0;
    let peak = 0;
    let done = 0;
    async function* items() {
      for (let i = 0; i < 25; i++) yield i;
    }
    await forEachConcurrent(items(), 4, async () => {
      running++;
      peak = Math.max(peak, running);
      await new Promise((resolve) => setTimeout(resolve, 2));
      running--;
      done++;
    });
    expect(peak).toBe(4);
    expect(done).toBe(25);
  });
});
