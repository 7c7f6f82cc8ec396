/**
 * SyncExchange.respond over a real Fastify reply (inject): a file made of many small chunks
 * that come at once is sent whole with its length; one larger than the whole-file budget, or
 * whose next chunk is slow to come, is streamed. The chunks here are ready at once, so the
 * outcome does not depend on how busy the machine is.
 */
import { setTimeout as sleep } from 'node:timers/promises';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SyncExchange } from '../../src/http/sync-exchange.js';

async function* chunks(count: number, size: number, pauseMsAfter?: number): AsyncGenerator<Uint8Array> {
  for (let i = 0; i < count; i++) {
    if (i === pauseMsAfter) await sleep(300);
    yield Buffer.alloc(size, 97 + (i % 26));
  }
}

const app = Fastify();
const SHAPES: Record<string, () => AsyncGenerator<Uint8Array>> = {
  parts: () => chunks(40, 1000), // an XLSX file's many small parts
  large: () => chunks(40, 10_000), // 400 kB: past the whole-file budget
  paused: () => chunks(4, 1000, 2), // a source that pauses after two chunks
};

beforeAll(async () => {
  app.get<{ Params: { shape: string } }>('/:shape', async (request, reply) => {
    const exchange = new SyncExchange(
      reply,
      { firstByteMs: 5000, idleWriteMs: 5000 },
      new AbortController().signal,
    );
    try {
      await exchange.respond({ 'content-type': 'application/octet-stream' }, SHAPES[request.params.shape]!());
    } finally {
      exchange.dispose();
    }
    return reply;
  });
  await app.ready();
});
afterAll(() => app.close());

describe('SyncExchange.respond', () => {
  it('sends a file of many small chunks that come at once whole, with its length', async () => {
    const response = await app.inject({ method: 'GET', url: '/parts' });
    expect(response.statusCode).toBe(200);
    expect(response.headers['content-length']).toBe('40000');
    expect(response.headers['transfer-encoding']).toBeUndefined();
    expect(
      response.rawPayload.equals(
        Buffer.concat([...Array(40)].map((_, i) => Buffer.alloc(1000, 97 + (i % 26)))),
      ),
    ).toBe(true);
  });

  it('streams a file past the budget, and one whose source pauses, with every byte', async () => {
    const large = await app.inject({ method: 'GET', url: '/large' });
    expect(large.headers['content-length']).toBeUndefined();
    expect(large.headers['transfer-encoding']).toBe('chunked');
    expect(large.rawPayload.byteLength).toBe(400_000);
    const paused = await app.inject({ method: 'GET', url: '/paused' });
    expect(paused.headers['content-length']).toBeUndefined();
    expect(paused.rawPayload.toString()).toBe(
      `${'a'.repeat(1000)}${'b'.repeat(1000)}${'c'.repeat(1000)}${'d'.repeat(1000)}`,
    );
  });
});
