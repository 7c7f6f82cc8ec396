import { TakeoutError } from '../errors.js';

/** The error of an attempt that ran past `TAKEOUT_JOB_TIMEOUT`. */
export function timeoutError(timeoutMs: number): TakeoutError {
  return new TakeoutError(
    'job_timeout',
    `The export ran longer than ${Math.round(timeoutMs / 1000)} seconds`,
    {
      details: { limitSeconds: Math.round(timeoutMs / 1000) },
    },
  );
}
