/**
 * `takeout storage setup` and `takeout storage sweep`. Configured like the server, from the
 * environment: STORAGE_URL, TAKEOUT_DATA_DIR, TAKEOUT_FILE_TTL, TAKEOUT_JOB_TIMEOUT (docs/storage.md).
 */
import { randomBytes } from 'node:crypto';
import { mkdir, stat } from 'node:fs/promises';
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { didYouMean } from '../did-you-mean.js';
import { jobSettingsFromEnv } from '../jobs/config.js';
import { scrubber, scrubbingStream, secretsOf } from '../logging.js';
import { storageSettingsFromEnv } from '../storage/config.js';
import { credentialsFromEnv, storageFromUrl } from '../storage/factory.js';
import { minimumAbortIncompleteDays, minimumLifecycleDays } from '../storage/lifecycle.js';
import type { S3Storage } from '../storage/s3.js';
import { setupS3Bucket } from '../storage/s3-setup.js';
import { incompleteAfterMsFor, sweepExpired } from '../storage/sweeper.js';
import type { Storage } from '../storage/types.js';
import { type CliIo, UsageError } from './usage.js';

type Out = NodeJS.WritableStream;

export const STORAGE_USAGE = `Usage: takeout storage <command> [options]

Commands:
  setup [--days N] [--dry-run]  S3: check the bucket exists and is not public, and apply the
                                lifecycle rule (expire the prefix after N days, default
                                TAKEOUT_FILE_TTL + TAKEOUT_JOB_TIMEOUT rounded up to whole
                                days, at least 1; abort incomplete multipart uploads after
                                TAKEOUT_JOB_TIMEOUT rounded up to whole days + 1 day).
                                Idempotent.
  sweep                         delete the files whose retention has ended, now

Configuration (environment): STORAGE_URL, TAKEOUT_DATA_DIR, TAKEOUT_FILE_TTL, TAKEOUT_JOB_TIMEOUT;
S3 credentials from the AWS SDK chain (AWS_ACCESS_KEY_ID, AWS_PROFILE, roles). See docs/storage.md.`;

/** Errors are thrown, and said as every command's are (run.ts): `takeout: <code>: <message>`. */
export async function storageCommand(argv: string[], io: CliIo): Promise<number> {
  const out = io.stdout;
  // A failed step may quote an SDK's error, which may quote what it was given: no secret of
  // the environment is printed (run.ts scrubs the errors thrown alike).
  const err = scrubbingStream(io.stderr, scrubber(secretsOf(io.env))) as Out;
  const [command, ...rest] = argv;
  if (command === undefined || command === 'help' || command === '--help' || command === '-h') {
    (command === undefined ? err : out).write(`${STORAGE_USAGE}\n`);
    return command === undefined ? 2 : 0;
  }
  if (command === 'setup') return setup(rest, io.env, out, err);
  if (command === 'sweep') return sweep(rest, io.env, out, err);
  throw new UsageError(
    `unknown storage command ${JSON.stringify(command)}${didYouMean(command, ['setup', 'sweep'])}`,
  );
}

function context(env: NodeJS.ProcessEnv) {
  const dataDir = resolve(env.TAKEOUT_DATA_DIR || 'data');
  return { dataDir, settings: storageSettingsFromEnv(env, { dataDir }) };
}

async function setup(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: {
      days: { type: 'string' },
      'dry-run': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    out.write(`${STORAGE_USAGE}\n`);
    return 0;
  }
  const { dataDir, settings } = context(env);
  const jobTimeoutSeconds = jobSettingsFromEnv(env).timeoutMs / 1000;
  const minimum = minimumLifecycleDays(settings.fileTtlSeconds, jobTimeoutSeconds);
  const abortIncompleteDays = minimumAbortIncompleteDays(jobTimeoutSeconds);
  let days = minimum;
  if (values.days !== undefined) {
    if (!/^\d+$/.test(values.days) || Number(values.days) < 1)
      throw new UsageError('--days must be an integer >= 1');
    days = Number(values.days);
    if (days < minimum) {
      throw new UsageError(
        `--days ${days} would delete files before TAKEOUT_FILE_TTL ends (counted from the end of an export that may run TAKEOUT_JOB_TIMEOUT); use --days ${minimum} or more`,
      );
    }
  }
  const location = settings.location;
  if (location.kind === 'file') {
    await mkdir(location.root, { recursive: true, mode: 0o700 });
    out.write(`storage: local disk at ${location.root}\n`);
    out.write('lifecycle: nothing to set up on disk: the sweeper deletes expired files\n');
    return 0;
  }
  const storage = (await storageFromUrl(env.STORAGE_URL, { dataDir, ...credentialOption(env) })) as S3Storage;
  try {
    out.write(
      `storage: s3://${storage.bucket}/${storage.prefix}${location.endpoint ? ` at ${location.endpoint}` : ''}\n`,
    );
    const steps = await setupS3Bucket(storage, {
      days,
      abortIncompleteDays,
      dryRun: values['dry-run'] ?? false,
    });
    // Failures are errors: on stderr, where a script's `2>` and a terminal's red expect them.
    for (const step of steps)
      (step.status === 'failed' ? err : out).write(`${step.step}: ${step.status}: ${step.message}\n`);
    return steps.some((step) => step.status === 'failed') ? 1 : 0;
  } finally {
    await storage.close();
  }
}

async function sweep(argv: string[], env: NodeJS.ProcessEnv, out: Out, err: Out): Promise<number> {
  const { values } = parseArgs({
    args: argv,
    options: { help: { type: 'boolean', short: 'h' } },
    strict: true,
    allowPositionals: false,
  });
  if (values.help) {
    out.write(`${STORAGE_USAGE}\n`);
    return 0;
  }
  const { dataDir, settings } = context(env);
  const location = settings.location;
  if (location.kind === 'file' && !(await stat(location.root).catch(() => undefined))) {
    // Nothing to sweep, but likely not the service's directory: say so rather than "0 deleted".
    err.write(
      `sweep: no files directory at ${location.root}: is TAKEOUT_DATA_DIR (or STORAGE_URL) the one the service uses?\n`,
    );
  }
  const storage = await unsignedStorage(env, dataDir, location.kind);
  try {
    const errors: string[] = [];
    const result = await sweepExpired(storage, {
      // Uploads of exports still within TAKEOUT_JOB_TIMEOUT are not leftovers.
      incompleteAfterMs: incompleteAfterMsFor(jobSettingsFromEnv(env).timeoutMs),
      onError: (key, error) => errors.push(`${key}: ${error.message}`),
    });
    out.write(
      `sweep: ${result.deleted} deleted, ${result.kept} kept, ${result.withoutExpiry} without expiry, ` +
        `${result.incompleteRemoved} incomplete removed, ${result.failed} failed\n`,
    );
    for (const line of errors.slice(0, 20)) err.write(`sweep: failed: ${line}\n`);
    return result.failed > 0 ? 1 : 0;
  } finally {
    await storage.close();
  }
}

/** The storage the environment names, for a command that deletes files (`storage sweep`, `jobs delete`). */
export async function storageOfEnv(env: NodeJS.ProcessEnv): Promise<Storage> {
  const { dataDir, settings } = context(env);
  return unsignedStorage(env, dataDir, settings.location.kind);
}

/**
 * A command's storage signs no link: a throwaway secret, so that it neither creates the
 * service's secret file (as root, before the service's first start, it would lock the service
 * out) nor needs it.
 */
function unsignedStorage(env: NodeJS.ProcessEnv, dataDir: string, kind: 'file' | 's3'): Promise<Storage> {
  const secret = kind === 'file' ? randomBytes(32).toString('hex') : undefined;
  return storageFromUrl(env.STORAGE_URL, {
    dataDir,
    ...(secret ? { secret } : {}),
    ...credentialOption(env),
  });
}

/** The SDK chain reads process.env; a caller-supplied environment must be passed explicitly. */
function credentialOption(env: NodeJS.ProcessEnv) {
  if (env === process.env) return {};
  const credentials = credentialsFromEnv(env);
  const region = env.AWS_REGION || env.AWS_DEFAULT_REGION;
  return { ...(credentials ? { credentials } : {}), ...(region ? { region } : {}) };
}
