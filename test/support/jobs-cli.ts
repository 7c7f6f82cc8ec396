/** Helpers of the `takeout jobs` tests: the CLI with an environment, and a job put in a store. */
import { createHash } from 'node:crypto';
import { newExportId } from '../../src/jobs/ids.js';
import type { JobStore } from '../../src/jobs/types.js';
import type { NotifyTarget } from '../../src/notify/types.js';
import { runCli } from './cli.js';

export const cli = (args: string[], env: NodeJS.ProcessEnv) => runCli(args, { env });

/** A queued job of `owner` (a dataset export, each with a request of its own). */
export async function addJob(
  store: JobStore,
  owner: { id: string; tenant?: string },
  notify?: NotifyTarget[],
) {
  const request = { version: 1, dataset: 'orders', format: 'csv', n: Math.random() };
  const { job } = await store.create({
    id: newExportId(),
    owner,
    principal: owner,
    request,
    requestHash: createHash('sha256').update(JSON.stringify(request)).digest('hex'),
    ...(notify ? { notify } : {}),
  });
  return job;
}
