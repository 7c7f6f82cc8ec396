/**
 * Where `--out` writes. A regular file (or a new one) is written under a temp name beside it
 * and renamed over it when complete, keeping the old file's mode; what is not a regular file
 * (`/dev/null`, a named pipe, a terminal) is written in place: a rename would replace it.
 */
import { constants, createWriteStream } from 'node:fs';
import { access, chmod, lstat, open, readlink, realpath, rename, rm, stat } from 'node:fs/promises';
import { basename, dirname, resolve } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { isatty } from 'node:tty';
import { TakeoutError } from '../errors.js';
import { removedOnExit } from './interrupt.js';
import { type CliIo, invalidFlag, RequestError } from './usage.js';

export type OutTarget =
  | { kind: 'stdout' }
  /** Not a regular file: written as it is, no temp file, no rename. `given`: as `--out` said. */
  | { kind: 'in-place'; path: string; given: string }
  /** A regular file or a new one (the real path, links resolved): temp file, then rename. */
  | { kind: 'replace'; path: string; given: string; mode: number | undefined };

const STDOUT_NAMES = ['/dev/stdout', '/dev/fd/1', '/proc/self/fd/1'];

/** A `--out` that cannot be written: exit 2, before any export runs. */
export function badOut(out: string, why: string): RequestError {
  const message = `--out ${out}${why.startsWith('is ') ? ' ' : ': '}${why}`;
  return new RequestError(new TakeoutError('invalid_option', message, { details: { option: 'out' } }));
}

const missing = (error: unknown) =>
  ['ENOENT', 'ENOTDIR'].includes((error as NodeJS.ErrnoException).code ?? '');

/** The path a chain of symlinks ends at when its last target does not exist yet. */
async function followLinks(path: string, out: string): Promise<string> {
  let current = resolve(path);
  for (let hops = 0; hops < 40; hops++) {
    const link = await lstat(current).catch((error: unknown) => {
      if (missing(error)) return undefined;
      throw error;
    });
    if (!link?.isSymbolicLink()) {
      // Links in the directories above are resolved too, so the temp file sits beside the file.
      const dir = await realpath(dirname(current)).catch(() => dirname(current));
      return resolve(dir, basename(current));
    }
    current = resolve(dirname(current), await readlink(current));
  }
  throw badOut(out, 'too many levels of symbolic links');
}

/**
 * Checks `--out` before the export runs: its directory exists and is writable, it is not a
 * directory or a socket. Symlinks are followed: the file they point at is written.
 */
export async function outTargetOf(out: string): Promise<OutTarget> {
  // Also by name: stdout may be a socket (a service's journal), which no path can open.
  if (out === '-' || STDOUT_NAMES.includes(resolve(out))) return { kind: 'stdout' };
  try {
    return await checkedTarget(out);
  } catch (error) {
    if (error instanceof RequestError) throw error;
    // EACCES on a directory above, ELOOP: still the flag's fault, said as such.
    throw badOut(
      out,
      `cannot be used (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})`,
    );
  }
}

async function checkedTarget(out: string): Promise<OutTarget> {
  // Through its links (`/dev/stdout` is one to a pipe or a terminal, which has no path).
  const existing = await stat(out).catch((error: unknown) => {
    if (missing(error)) return undefined;
    throw error;
  });
  if (existing?.isDirectory()) throw badOut(out, 'is a directory; give a file name');
  if (existing?.isSocket()) throw badOut(out, 'is a socket; give a file name');
  // `/dev/stdout`, `/dev/fd/3` name a descriptor, whatever it is open on: written through.
  const descriptor = /^\/(dev|proc)\//.test(resolve(out));
  if (existing && (!existing.isFile() || descriptor)) return { kind: 'in-place', path: out, given: out };
  // A new file (perhaps where a dangling link points), or one to replace: its real path.
  const path = existing ? await realpath(out) : await followLinks(out, out);
  const dir = dirname(path);
  const parent = await stat(dir).catch(() => undefined);
  if (!parent) throw badOut(out, `the directory ${dir} does not exist`);
  if (!parent.isDirectory()) throw badOut(out, `${dir} is not a directory`);
  try {
    await access(dir, constants.W_OK);
  } catch {
    throw badOut(out, `cannot write in ${dir} (permission denied)`);
  }
  // Renaming over a file needs only the directory's permission: the file's own is what a
  // shell's `>` would ask, and a read-only file says "do not overwrite".
  if (existing) {
    try {
      await access(path, constants.W_OK);
    } catch {
      throw badOut(out, `cannot replace ${path} (permission denied)`);
    }
  }
  // Written as `<name>.<pid>.partial` first: that name must fit where the file's own does.
  const room = NAME_MAX - Buffer.byteLength(partialSuffix());
  if (Buffer.byteLength(basename(path)) > room) {
    throw badOut(out, `its file name is too long (at most ${room} bytes, to leave room for a temp name)`);
  }
  return { kind: 'replace', path, given: out, mode: existing ? existing.mode & 0o7777 : undefined };
}

/** A file name's limit in bytes on Linux, macOS and Windows file systems alike. */
const NAME_MAX = 255;
const partialSuffix = () => `.${process.pid}.partial`;

/** Writes bytes where they go; resolves once they are all written. */
export type OutSink = (body: AsyncIterable<Uint8Array>, options?: { signal?: AbortSignal }) => Promise<void>;

export interface WriteOptions {
  stdout: NodeJS.WritableStream;
  /** Binary (XLSX): refused on a terminal, which it would garble. */
  binary?: boolean;
}

/**
 * Runs `write` with a sink for the target; a replaced file appears (renamed from its temp
 * name) only when `write` resolves, and the temp file is removed when it rejects.
 */
export async function writeOut(
  target: OutTarget,
  options: WriteOptions,
  write: (sink: OutSink) => Promise<void>,
): Promise<void> {
  if (target.kind === 'stdout') {
    await write((body, o) => pipeline(body, options.stdout, { end: false, ...o }));
    return;
  }
  if (target.kind === 'in-place') {
    await write(async (body, o) => {
      // Appending: a device or a pipe does not mind, and `>> log` with `-o /dev/stdout` keeps the log.
      const handle = await open(target.path, 'a');
      if (options.binary && isatty(handle.fd)) {
        await handle.close();
        throw badOut(target.given, 'is a terminal and XLSX is binary; give a file name');
      }
      await pipeline(body, handle.createWriteStream(), o ?? {});
    });
    return;
  }
  const temp = `${target.path}${partialSuffix()}`;
  const registered = removedOnExit(temp);
  try {
    await write((body, o) => pipeline(body, createWriteStream(temp), o ?? {}));
    // The mode of the file it replaces (a private 600 stays private), not the umask's default.
    if (target.mode !== undefined) await chmod(temp, target.mode);
    await rename(temp, target.path);
  } finally {
    await rm(temp, { force: true });
    registered();
  }
}

/** XLSX is binary: on a terminal it would be garbage (and may upset the terminal). */
export function refuseBinaryOnTerminal(format: string, target: OutTarget | undefined, io: CliIo): void {
  if (format.toLowerCase() === 'xlsx' && target?.kind === 'stdout' && io.stdout.isTTY)
    throw invalidFlag('out', '--out -: stdout is a terminal and XLSX is binary; give --out FILE');
}
