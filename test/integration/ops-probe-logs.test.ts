/**
 * Probes and scrapes are quiet (their request lines would drown the log), but not their
 * failures: a failed `/readyz` and a refused `/metrics` scrape each log one `warn` line, on
 * the API port and on the metrics port (a worker's only listener), through the scrubbed
 * logger. Successful probes log nothing; other refusals stay at `info`.
 */
import { Writable } from 'node:stream';
import { pino } from 'pino';
import { describe, expect, it } from 'vitest';
import { startMetricsServer } from '../../src/http/metrics-server.js';
import { buildServer, serviceServerOptions } from '../../src/http/server.js';
import { loggerOptions } from '../../src/logging.js';
import { memoryStorage } from '../../src/storage/memory.js';
import { testService } from '../support/jobs.js';

const METRICS_TOKEN = 'metrics-token-0123456789abcdef';
const WRONG_TOKEN = 'wrong-token-0123456789abcdef';

interface LogLine {
  level: number;
  msg: string;
  [key: string]: unknown;
}

/** pino options and a logger writing scrubbed JSON lines to `lines`, as `takeout serve` and `worker` do. */
function capturedLogs() {
  const lines: LogLine[] = [];
  const out = new Writable({
    write(chunk, _encoding, done) {
      for (const text of chunk.toString().split('\n')) if (text) lines.push(JSON.parse(text) as LogLine);
      done();
    },
  });
  const options = loggerOptions('info', { TAKEOUT_METRICS_TOKEN: METRICS_TOKEN }, out);
  const { stream, ...settings } = options;
  return { lines, options, logger: pino(settings, stream) };
}

const aboutProbes = (lines: LogLine[]) =>
  lines.filter((line) => /\/(healthz|readyz|metrics)\b/.test(JSON.stringify(line)));

describe('logs of probes and scrapes', () => {
  it('warn of a failed /readyz and a refused scrape on both listeners, and say nothing of successful ones', async () => {
    // A storage that can be made to fail its readiness check.
    const storage = memoryStorage();
    let storageDown = false;
    const list = storage.list.bind(storage);
    storage.list = (prefix) => {
      if (storageDown) throw new Error('storage is down');
      return list(prefix);
    };
    const jobs = await testService({ TAKEOUT_METRICS_TOKEN: METRICS_TOKEN }, { storage });
    const logs = capturedLogs();
    const api = await buildServer({ ...serviceServerOptions(jobs.service), logger: logs.options });
    const metrics = await startMetricsServer(jobs.service, 'worker', 0, logs.logger);
    const get = async (listener: 'api' | 'metrics', url: string, token?: string) => {
      const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
      if (listener === 'metrics') return (await fetch(metrics.url + url, { headers })).status;
      return (await api.inject({ url, headers: { host: 'localhost', ...headers } })).statusCode;
    };
    try {
      for (const listener of ['api', 'metrics'] as const) {
        expect(await get(listener, '/healthz')).toBe(200);
        expect(await get(listener, '/readyz')).toBe(200);
        expect(await get(listener, '/metrics', METRICS_TOKEN)).toBe(200);
      }
      expect(aboutProbes(logs.lines)).toEqual([]);

      storageDown = true;
      for (const listener of ['api', 'metrics'] as const) {
        expect(await get(listener, '/readyz')).toBe(503);
        expect(await get(listener, '/metrics', WRONG_TOKEN)).toBe(401);
        expect(await get(listener, '/healthz')).toBe(200);
      }
      const warned = aboutProbes(logs.lines).map(({ level, code, url }) => ({ level, code, url }));
      const readyz = { level: 40, code: 'not_ready', url: '/readyz' };
      const refused = { level: 40, code: 'unauthorized', url: '/metrics' };
      expect(warned).toEqual([readyz, refused, readyz, refused]);
      expect(JSON.stringify(logs.lines)).not.toContain(WRONG_TOKEN);

      // Other refusals are not raised to warn.
      expect(await get('api', '/v1/exports/exp_missing')).toBe(404);
      const missing = logs.lines.filter((line) => line.code === 'export_not_found');
      expect(missing.map(({ level }) => level)).toEqual([30]);
    } finally {
      await metrics.app.close();
      await api.close();
      await jobs.close();
    }
  });
});
