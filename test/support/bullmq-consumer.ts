/**
 * A consumer process for crash tests: `node --import tsx bullmq-consumer.ts <options JSON>`.
 * Prints one JSON line per delivery it starts (`{"started":"<id>","attempt":1}`) and never
 * finishes one, so the test can kill it with SIGKILL in the middle of its work.
 */
import { bullmqQueue } from '../../src/jobs/queue/bullmq.js';

const options = JSON.parse(process.argv[2] ?? '{}') as Parameters<typeof bullmqQueue>[0];
const queue = await bullmqQueue(options);
await queue.consume(
  async ({ id, attempt, signal }) => {
    process.stdout.write(`${JSON.stringify({ started: id, attempt })}\n`);
    await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  },
  { concurrency: 1 },
);
process.stdout.write(`${JSON.stringify({ ready: true })}\n`);
