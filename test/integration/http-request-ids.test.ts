/**
 * A request's log lines carry its id: a proxy's `X-Request-Id` when it is one, otherwise
 * Takeout's own. The header is the client's, so an oversized or odd one is not written into
 * every line of its request.
 */
import { Writable } from 'node:stream';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import { loggerOptions } from '../../src/logging.js';
import { type TestService, testService } from '../support/jobs.js';

describe('request ids in the logs', () => {
  const lines: Array<{ reqId?: string; msg: string; req?: { url?: string } }> = [];
  let jobs: TestService;
  let app: FastifyInstance;
  let origin: string;

  beforeAll(async () => {
    const out = new Writable({
      write(chunk, _encoding, done) {
        for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text));
        done();
      },
    });
    jobs = await testService({});
    app = await buildServer({
      ...serviceServerOptions(jobs.service),
      logger: loggerOptions('info', {}, out),
    });
    origin = await app.listen({ host: '127.0.0.1', port: 0 });
  });
  afterAll(async () => {
    await app?.close();
    await jobs?.close();
  });

  /** The ids of the log lines about the request made to `path`. */
  async function idsFor(path: string, requestId?: string): Promise<string[]> {
    const headers: Record<string, string> = requestId === undefined ? {} : { 'x-request-id': requestId };
    const response = await fetch(`${origin}${path}`, { headers });
    await response.arrayBuffer();
    const ids = lines.filter((line) => line.req?.url === path).map((line) => line.reqId ?? '');
    expect(ids.length, path).toBeGreaterThan(0);
    return [
      ...new Set(lines.filter((line) => ids.includes(line.reqId ?? '')).map((line) => line.reqId ?? '')),
    ];
  }

  it("takes a proxy's id, and makes its own for a missing, oversized or odd one", async () => {
    expect(await idsFor('/v1/one', 'b7e2c1d0-5f4a-4c3e-9a1b-0d2e3f4a5b6c')).toEqual([
      'b7e2c1d0-5f4a-4c3e-9a1b-0d2e3f4a5b6c',
    ]);
    const own = await idsFor('/v1/two');
    expect(own).toEqual([expect.stringMatching(/^req-[0-9a-z]+$/)]);
    const oversized = await idsFor('/v1/three', 'x'.repeat(8_000));
    expect(oversized).toEqual([expect.stringMatching(/^req-[0-9a-z]+$/)]);
    const odd = await idsFor('/v1/four', 'id with spaces", "level":60');
    expect(odd).toEqual([expect.stringMatching(/^req-[0-9a-z]+$/)]);
    const quoted = await idsFor('/v1/five', 'a","level":60');
    expect(quoted).toEqual([expect.stringMatching(/^req-[0-9a-z]+$/)]);
    expect(await idsFor('/v1/six', 'Root=1-67891233-abcdef012345678912345678')).toEqual([
      'Root=1-67891233-abcdef012345678912345678',
    ]);
    expect(new Set([...own, ...oversized, ...odd, ...quoted]).size).toBe(4);
    expect(JSON.stringify(lines)).not.toContain('x'.repeat(200));
  });
});
