/**
 * Starts s3rver in a child process on a random loopback port with a fresh directory (see
 * s3rver-server.mjs for what it does and does not implement). Separate process: its memory
 * does not count in the client's RSS measurements, and the tests can inspect its directory.
 * `down()` and `up()` stop and start it again on the same port and directory (an S3 outage).
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createInterface } from 'node:readline';
import { fileURLToPath } from 'node:url';
import { CreateBucketCommand } from '@aws-sdk/client-s3';
import { type S3Storage, type S3StorageOptions, s3Storage } from '../../src/storage/s3.js';

export interface S3rverHandle {
  endpoint: string;
  /** s3rver's storage directory: `<dir>/<bucket>/...`. */
  directory: string;
  credentials: { accessKeyId: string; secretAccessKey: string };
  /** Stops the server, keeping its port and directory for `up()`. */
  down(): Promise<void>;
  /** Starts it again on the same port and directory. */
  up(): Promise<void>;
  /** SIGSTOP: connections stay open, nothing is answered until `thaw()`. */
  freeze(): void;
  /** SIGCONT: answers again. */
  thaw(): void;
  stop(): Promise<void>;
}

const script = fileURLToPath(new URL('./s3rver-server.mjs', import.meta.url));

async function launch(directory: string, port = 0): Promise<{ child: ChildProcess; port: number }> {
  const child: ChildProcess = spawn(process.execPath, [script, directory, String(port)], {
    stdio: ['pipe', 'pipe', 'inherit'],
  });
  const listening = await new Promise<number>((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.once('line', (line) => resolve((JSON.parse(line) as { port: number }).port));
    child.once('error', reject);
    child.once('exit', (code) => reject(new Error(`s3rver exited with ${code}`)));
  });
  return { child, port: listening };
}

async function halt(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((resolve) => child.once('exit', resolve));
  child.stdin?.end();
  const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
  await exited;
  clearTimeout(timer);
}

export async function startS3rver(): Promise<S3rverHandle> {
  const directory = await mkdtemp(join(tmpdir(), 'takeout-s3rver-'));
  let { child, port } = await launch(directory);
  return {
    endpoint: `http://127.0.0.1:${port}`,
    directory,
    credentials: { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' },
    down: () => halt(child),
    freeze: () => child.kill('SIGSTOP'),
    thaw: () => child.kill('SIGCONT'),
    async up() {
      // The port was just released; a moment's retry covers a slow release.
      for (let tries = 0; ; tries++) {
        try {
          ({ child, port } = await launch(directory, port));
          return;
        } catch (error) {
          if (tries >= 20) throw error;
          await new Promise((resolve) => setTimeout(resolve, 250));
        }
      }
    },
    async stop() {
      child.kill('SIGCONT');
      await halt(child);
      await rm(directory, { recursive: true, force: true });
    },
  };
}

/** Takeout's S3 storage on a new bucket `bucket` of this s3rver (path-style, as s3rver needs). */
export async function s3rverStorage(
  s3: S3rverHandle,
  bucket: string,
  options: Partial<S3StorageOptions> = {},
): Promise<S3Storage> {
  const storage = s3Storage({
    bucket,
    endpoint: s3.endpoint,
    forcePathStyle: true,
    region: 'us-east-1',
    credentials: s3.credentials,
    ...options,
  });
  await (await storage.client()).send(new CreateBucketCommand({ Bucket: bucket }));
  return storage;
}
