/**
 * HMAC-SHA256 signed download links for the disk driver. The MAC covers the key, the expiry,
 * the download name and the content type, so none of them can be changed without the secret.
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { mkdir, readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { TakeoutError } from '../errors.js';
import { PRIVATE_DIR, syncDir, writeNewFileDurably } from './disk-files.js';

export interface LinkClaims {
  key: string;
  /** Expiry, in seconds since the epoch. */
  expires: number;
  filename: string;
  contentType: string;
}

const MIN_SECRET_LENGTH = 32;
const SECRET_FILE = 'secret';

/**
 * Refuses a signing secret shorter than 32 characters, however it is given (`TAKEOUT_SECRET`,
 * or the `secret` of `diskStorage`, `memoryStorage`, `storageFromUrl`, `linkSigner`): anyone
 * who guesses it can forge download links. `name` is what the message calls it.
 */
export function checkSecret(secret: unknown, name: string): string {
  if (typeof secret !== 'string') {
    throw new TakeoutError(
      'config_error',
      `${name} must be a string of at least ${MIN_SECRET_LENGTH} characters (see loadOrCreateSecret)`,
    );
  }
  if (secret.length < MIN_SECRET_LENGTH) {
    throw new TakeoutError('config_error', `${name} must be at least ${MIN_SECRET_LENGTH} characters`);
  }
  return secret;
}

/**
 * The signing secret: `TAKEOUT_SECRET` when set, else `<dataDir>/secret`, created on first
 * start (mode 0600, in a 0700 directory when it creates that too) with 32 random bytes. Safe
 * when several processes start at once. An existing file that other users may read or write
 * is refused (`config_error`): whoever reads it can forge download links.
 */
export async function loadOrCreateSecret(
  dataDir: string,
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  const configured = env.TAKEOUT_SECRET;
  if (configured !== undefined && configured !== '') return checkSecret(configured, 'TAKEOUT_SECRET');
  const path = join(dataDir, SECRET_FILE);
  await mkdir(dataDir, PRIVATE_DIR).catch((error: NodeJS.ErrnoException) => {
    throw new TakeoutError(
      'config_error',
      `The data directory (TAKEOUT_DATA_DIR) ${dataDir} cannot be created (${error.code ?? error.message})`,
      { cause: error },
    );
  });
  try {
    // `wx`: only one of several processes starting together creates it; the others read it.
    // Flushed with its directory entry: left empty by a power loss, it would stop every start.
    await writeNewFileDurably(path, `${randomBytes(32).toString('base64url')}\n`);
    await syncDir(dataDir);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
  }
  await refuseShared(path);
  // A reader may race the creator's write; retry briefly until the file has its content.
  for (let attempt = 0; ; attempt++) {
    const secret = (await readFile(path, 'utf8')).trim();
    if (secret.length >= MIN_SECRET_LENGTH) return secret;
    if (attempt >= 20) throw new TakeoutError('config_error', `The secret file ${path} is too short`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/** Throws when users other than the owner have any access to the file (POSIX modes only). */
async function refuseShared(path: string): Promise<void> {
  if (process.platform === 'win32') return;
  const mode = (await stat(path)).mode & 0o777;
  if ((mode & 0o077) !== 0) {
    throw new TakeoutError(
      'config_error',
      `The secret file ${path} is open to other users (mode ${mode.toString(8).padStart(4, '0')}); run chmod 600 on it`,
      { details: { mode: `0${mode.toString(8)}` } },
    );
  }
}

export interface LinkSigner {
  sign(claims: LinkClaims): string;
  /** Throws `invalid_link` (tampered or malformed) or `link_expired`. */
  verify(claims: LinkClaims, signature: string, now?: Date): void;
}

/** Signs and checks links with `secret` (32 characters or more, else `config_error`). */
export function linkSigner(secret: string): LinkSigner {
  checkSecret(secret, 'secret');
  // A key of its own, so a MAC made here is useless anywhere else the secret is used.
  const key = createHmac('sha256', secret).update('takeout/files-link/v1').digest();
  const mac = (claims: LinkClaims): Buffer =>
    createHmac('sha256', key)
      .update(JSON.stringify([claims.key, claims.expires, claims.filename, claims.contentType]))
      .digest();
  return {
    sign: (claims) => mac(claims).toString('base64url'),
    verify(claims, signature, now = new Date()) {
      // Compared as text: decoding first accepted other spellings of the same MAC (a changed
      // last character, trailing junk), so one link had several valid forms.
      const given = Buffer.from(signature);
      const expected = Buffer.from(mac(claims).toString('base64url'));
      if (given.length !== expected.length || !timingSafeEqual(given, expected)) {
        throw new TakeoutError('invalid_link', 'The download link is not valid');
      }
      if (claims.expires * 1000 <= now.getTime()) {
        throw new TakeoutError('link_expired', 'The download link has expired; ask for a fresh one');
      }
    },
  };
}

/** Link query parameters <-> claims. */
export const LINK_PARAMS = { expires: 'exp', filename: 'fn', contentType: 'ct', signature: 'sig' } as const;

export function claimsFromQuery(
  key: string,
  query: Record<string, unknown>,
): { claims: LinkClaims; signature: string } {
  const get = (name: string): string => {
    const value = query[name];
    if (typeof value !== 'string') throw new TakeoutError('invalid_link', 'The download link is not valid');
    return value;
  };
  const expiresText = get(LINK_PARAMS.expires);
  if (!/^\d{1,12}$/.test(expiresText))
    throw new TakeoutError('invalid_link', 'The download link is not valid');
  return {
    claims: {
      key,
      expires: Number(expiresText),
      filename: get(LINK_PARAMS.filename),
      contentType: get(LINK_PARAMS.contentType),
    },
    signature: get(LINK_PARAMS.signature),
  };
}
