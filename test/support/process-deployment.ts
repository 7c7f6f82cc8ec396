/**
 * The multi-process shape for tests: `takeout serve` (API only, TAKEOUT_WORKERS=0) and
 * `takeout worker` processes, on the jobs deployment's PostgreSQL schema, BullMQ queue and
 * s3rver bucket (jobs-deployment.ts), with API tokens and a metrics token.
 */
import { afterEach } from 'vitest';
import { type Deployment, type DeployOptions, useJobsDeployment } from './jobs-deployment.js';
import { type ServeProcess, startServe } from './serve-process.js';
import { startWorkerProcess, type WorkerProcess } from './worker-process.js';

export const ALICE_TOKEN = 'alice-token-0123456789abcdef';
export const BOB_TOKEN = 'bob-token-0123456789abcdef';
export const METRICS_TOKEN = 'metrics-token-0123456789abcdef';

export interface ProcessDeployment {
  deployment: Deployment;
  env: NodeJS.ProcessEnv;
  api: ServeProcess;
  worker: WorkerProcess;
  /** The worker's metrics listener, `http://127.0.0.1:port`. */
  workerMetrics: string;
  /** An API call as alice (or with `token`). */
  call(path: string, init?: RequestInit & { token?: string }): Promise<Response>;
}

export function useProcessDeployment(): (
  env?: NodeJS.ProcessEnv,
  options?: DeployOptions,
) => Promise<ProcessDeployment> {
  const deploy = useJobsDeployment();
  const servers: ServeProcess[] = [];
  afterEach(async () => {
    for (const server of servers.splice(0)) await server.terminate();
  });
  return async (extra = {}, options = {}) => {
    const deployment = await deploy(options);
    const env: NodeJS.ProcessEnv = {
      ...deployment.env,
      TAKEOUT_API_TOKENS: `${ALICE_TOKEN}=alice:acme,${BOB_TOKEN}=bob:acme`,
      TAKEOUT_METRICS_TOKEN: METRICS_TOKEN,
      ...extra,
    };
    const api = await startServe({ ...env, TAKEOUT_WORKERS: '0' });
    servers.push(api);
    const worker = await startWorkerProcess({ ...env, TAKEOUT_METRICS_PORT: '0' });
    deployment.workers.push(worker);
    const running = await worker.waitFor((line) => line.msg === 'takeout worker is running');
    return {
      deployment,
      env,
      api,
      worker,
      workerMetrics: running.metrics as string,
      call: (path, { token = ALICE_TOKEN, ...init } = {}) =>
        fetch(api.base + path, {
          redirect: 'manual',
          ...init,
          headers: { authorization: `Bearer ${token}`, ...(init.headers as Record<string, string>) },
        }),
    };
  };
}
