/** Small pieces the OpenAPI document is built from: problem responses, headers, JSON bodies. */

export type Json = Record<string, unknown>;

/** Problem answers that come with a header of their own (components.ts); the rest are `Problem`. */
const PROBLEM_RESPONSES: Record<number, string> = {
  401: 'Unauthorized',
  // 409 `export_not_ready`, 429, 503: when to try again.
  409: 'ProblemRetryAfter',
  429: 'ProblemRetryAfter',
  503: 'ProblemRetryAfter',
};

export const problems = (...statuses: number[]): Json =>
  Object.fromEntries(
    statuses.map((status) => [
      String(status),
      { $ref: `#/components/responses/${PROBLEM_RESPONSES[status] ?? 'Problem'}` },
    ]),
  );

/**
 * The answers of a route behind authentication and the rate limit, besides its own:
 * 429 `rate_limited`, 503 `auth_unavailable` / `job_store_error`.
 */
export const guardedProblems = (...statuses: number[]): Json => problems(...statuses, 429, 503);

export const header = (description: string, schema: Json = { type: 'string' }): Json => ({
  description,
  schema,
});

export const json = (description: string, schema: Json, headers?: Json): Json => ({
  description,
  ...(headers ? { headers } : {}),
  content: { 'application/json': { schema } },
});

export const jobIdParameter: Json = { name: 'id', in: 'path', required: true, schema: { type: 'string' } };

export const RETRY_AFTER = header('Seconds to wait before polling again.', { type: 'integer' });
export const LOCATION = header('The job, `/v1/exports/{id}`.');
export const NO_STORE = header('no-store');
/** Job documents change as the job runs: revalidate (ETag) before reusing one. */
export const PRIVATE_NO_CACHE = header('private, no-cache');
