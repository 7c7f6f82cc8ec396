/** The disk driver's sidecars: each file's metadata (name, type, size, SHA-256, expiry) under `.meta/`. */
import { readFile } from 'node:fs/promises';
import { writeNewFileDurably } from './disk-files.js';
import type { ObjectMeta } from './types.js';

export interface Sidecar {
  v: 1;
  contentType: string;
  filename: string;
  expiresAt: string | null;
  size: number;
  sha256: string;
  createdAt: string;
}

export function sidecarOf(meta: ObjectMeta, written: { size: number; sha256: string }): Sidecar {
  return {
    v: 1,
    contentType: meta.contentType,
    filename: meta.filename,
    expiresAt: meta.expiresAt ? meta.expiresAt.toISOString() : null,
    size: written.size,
    sha256: written.sha256,
    createdAt: new Date().toISOString(),
  };
}

/** The sidecar at `path`, or undefined when there is none. */
export async function readSidecarFile(path: string): Promise<Sidecar | undefined> {
  try {
    return JSON.parse(await readFile(path, 'utf8')) as Sidecar;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

/** Writes a new sidecar, flushed: it is renamed into place next, and must not turn up empty. */
export function writeSidecarFile(path: string, sidecar: Sidecar): Promise<void> {
  return writeNewFileDurably(path, JSON.stringify(sidecar));
}
