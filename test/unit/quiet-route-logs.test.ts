/**
 * On the quiet routes (probes, scrapes) only a failed probe and a refused scrape are raised
 * to `warn`: other refusals there (a scanner's 404 on /metrics) stay at `info`, below those
 * routes' level, so they are not written.
 */
import Fastify from 'fastify';
import { pino } from 'pino';
import { expect, it } from 'vitest';
import { TakeoutError } from '../../src/errors.js';
import { problemErrorHandler } from '../../src/http/problem.js';
import { QUIET_ROUTE } from '../../src/http/routes/health.js';

it('warns of not_ready and unauthorized on a quiet route, and of nothing else', async () => {
  const lines: { level: number; code?: string }[] = [];
  const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
  const app = Fastify({ loggerInstance: logger });
  app.setErrorHandler(problemErrorHandler);
  for (const code of ['not_ready', 'unauthorized', 'not_found'] as const) {
    app.get(`/${code}`, QUIET_ROUTE, async () => {
      throw new TakeoutError(code, code);
    });
  }
  try {
    for (const code of ['not_ready', 'unauthorized', 'not_found']) {
      expect((await app.inject({ url: `/${code}` })).statusCode).toBeGreaterThanOrEqual(400);
    }
    const levels = Object.fromEntries(lines.filter((l) => l.code).map((l) => [l.code, l.level]));
    // not_found stays at info, below the quiet route's level: not written at all.
    expect(levels).toEqual({ not_ready: 40, unauthorized: 40 });
  } finally {
    await app.close();
  }
});
