import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { problemErrorHandler } from '../../src/http/problem.js';
import { filesRoutes } from '../../src/http/routes/files.js';
import { memoryStorage } from '../../src/storage/memory.js';
import { sweepExpired } from '../../src/storage/sweeper.js';
import { isServedStorage } from '../../src/storage/types.js';
import { storageContract } from '../contracts/storage.js';

storageContract('memory', async () => {
  const storage = memoryStorage();
  const app = Fastify();
  app.setErrorHandler(problemErrorHandler);
  await app.register(filesRoutes, { storage });
  const address = await app.listen({ host: '127.0.0.1', port: 0 });
  return {
    // Links are relative to the server that serves them; the contract fetches absolute ones.
    storage: { ...storage, signedUrl: async (key, opts) => address + (await storage.signedUrl(key, opts)) },
    incomplete: async () => storage.incomplete,
    holdsFilesInMemory: true,
    close: async () => {
      await app.close();
      await storage.close();
    },
  };
});

describe('memory storage', () => {
  it('is served by the files route and keeps stores apart', async () => {
    const a = memoryStorage();
    const b = memoryStorage();
    expect(isServedStorage(a)).toBe(true);
    await a.put(
      'generated/x/f.csv',
      (async function* () {
        yield Buffer.from('a\n');
      })(),
      { contentType: 'text/csv', filename: 'f.csv' },
    );
    expect(await a.stat('generated/x/f.csv')).toMatchObject({ size: 2 });
    expect(await b.stat('generated/x/f.csv')).toBeUndefined();
  });
});

describe('sweepExpired', () => {
  it('cleans unfinished uploads of the prefix it sweeps only, or of the whole storage', async () => {
    const storage = memoryStorage();
    const asked: ({ prefix?: string } | undefined)[] = [];
    const spied = {
      ...storage,
      removeIncomplete: async (before: Date, options?: { prefix?: string }) => {
        asked.push(options);
        return storage.removeIncomplete(before, options);
      },
    };
    await sweepExpired(spied, { prefix: 'generated/2024/' });
    await sweepExpired(spied);
    expect(asked).toEqual([{ prefix: 'generated/2024/' }, {}]);
    await storage.close();
  });
});
