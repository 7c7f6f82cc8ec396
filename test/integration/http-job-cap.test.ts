/**
 * The per-owner cap of queued + running exports (TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER): past it a
 * new job is `429 too_many_exports`, which is retryable, so it says when to try again.
 */
import { describe, expect, it } from 'vitest';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import { numbersDataset, testService } from '../support/jobs.js';

describe('the per-owner job cap over HTTP', () => {
  it('answers 429 too_many_exports with Retry-After to an owner at the cap', async () => {
    // No worker runs here: the first job stays queued and keeps its owner at the cap.
    const jobs = await testService(
      { TAKEOUT_JOB_MAX_ACTIVE_PER_OWNER: '1' },
      { datasets: [numbersDataset('numbers', 10)] },
    );
    const app = await buildServer(serviceServerOptions(jobs.service));
    const create = () =>
      app.inject({
        method: 'POST',
        url: '/v1/exports',
        headers: { host: 'localhost', 'content-type': 'application/json', prefer: 'respond-async' },
        payload: { dataset: 'numbers', format: 'csv' },
      });
    try {
      expect((await create()).statusCode).toBe(202);
      const refused = await create();
      expect(refused.statusCode).toBe(429);
      expect(refused.json()).toMatchObject({ code: 'too_many_exports', retryable: true, limit: 1 });
      // The cap clears when an export ends: half a minute, not the sync slots' seconds.
      expect(Number(refused.headers['retry-after'])).toBe(30);
    } finally {
      await app.close();
      await jobs.close();
    }
  });
});
