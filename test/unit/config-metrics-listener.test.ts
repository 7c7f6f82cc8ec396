/** The metrics listener's failures name TAKEOUT_METRICS_PORT / TAKEOUT_METRICS_HOST, not a raw errno. */
import { createServer, type Server } from 'node:net';
import type { FastifyBaseLogger } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startMetricsServer } from '../../src/http/metrics-server.js';
import type { Service } from '../../src/service.js';

const log = pino({ level: 'silent' }) as unknown as FastifyBaseLogger;
// Nothing is asked of these until a request comes.
const service = (host: string) =>
  ({
    config: { metrics: { host, token: undefined, port: 0 } },
    jobs: { store: {}, queue: {} },
    storage: {},
    metrics: {},
  }) as unknown as Service;

let busy: Server;
let busyPort: number;
beforeAll(async () => {
  busy = createServer();
  await new Promise<void>((resolve) => busy.listen(0, '127.0.0.1', resolve));
  busyPort = (busy.address() as { port: number }).port;
});
afterAll(() => new Promise<void>((resolve) => busy.close(() => resolve())));

async function refusal(host: string, port: number): Promise<Error> {
  const error = await startMetricsServer(service(host), 'worker', port, log).then(
    async (server) => {
      await server.app.close();
      return undefined;
    },
    (e: unknown) => e as Error,
  );
  expect(error).toMatchObject({ code: 'config_error' });
  return error as Error;
}

describe('metrics listener', () => {
  it('names TAKEOUT_METRICS_PORT for a port in use', async () => {
    const { message } = await refusal('127.0.0.1', busyPort);
    expect(message).toContain('TAKEOUT_METRICS_PORT');
    expect(message).toContain(`127.0.0.1:${busyPort}`);
    expect(message).not.toMatch(/^listen /);
  });

  it('names TAKEOUT_METRICS_HOST for a host that is not an address here', async () => {
    for (const host of ['no-such-host.invalid', '192.0.2.1']) {
      const { message } = await refusal(host, 0);
      expect(message, host).toContain(`TAKEOUT_METRICS_HOST ${host}`);
      expect(message).not.toContain('getaddrinfo');
    }
  });

  it('still listens where it can', async () => {
    const server = await startMetricsServer(service('127.0.0.1'), 'worker', 0, log);
    expect(server.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    await server.app.close();
  });
});
