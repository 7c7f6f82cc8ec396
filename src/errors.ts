/**
 * One error class with a stable code from a catalog. Each code has its HTTP status and says
 * whether retrying the same request may succeed. Every code is documented in docs/errors.md
 * (test/unit/errors.test.ts fails when one is not).
 */
export const ERROR_CATALOG = {
  // Requests
  invalid_request: { status: 400, retryable: false, title: 'The request is not valid' },
  invalid_json: { status: 400, retryable: false, title: 'The request body is not valid JSON' },
  request_timeout: { status: 408, retryable: true, title: 'The request took too long to arrive' },
  headers_too_large: { status: 431, retryable: false, title: 'The request headers are too large' },
  unsupported_media_type: { status: 415, retryable: false, title: 'The request body must be JSON' },
  body_too_large: { status: 413, retryable: false, title: 'The request body is too large' },
  unknown_format: { status: 400, retryable: false, title: 'The format is not supported' },
  invalid_option: { status: 400, retryable: false, title: 'An export option is not valid' },
  invalid_timezone: { status: 400, retryable: false, title: 'The time zone is not a known IANA zone' },
  invalid_columns: { status: 400, retryable: false, title: 'The columns are not valid' },
  invalid_rows: { status: 400, retryable: false, title: 'The rows are not valid' },
  unknown_dataset: { status: 404, retryable: false, title: 'The dataset does not exist' },
  invalid_params: { status: 400, retryable: false, title: 'The dataset parameters are not valid' },
  sync_limit_exceeded: {
    status: 413,
    retryable: false,
    title: 'The export is too large to stream in the response',
  },
  unauthorized: { status: 401, retryable: false, title: 'Authentication is required' },
  auth_unavailable: {
    status: 503,
    retryable: true,
    title: 'The token could not be checked right now',
  },
  rate_limited: { status: 429, retryable: true, title: 'Too many requests' },
  host_not_allowed: {
    status: 403,
    retryable: false,
    title: 'Without authentication only loopback host names are served',
  },
  not_found: { status: 404, retryable: false, title: 'Not found' },
  precondition_failed: {
    status: 412,
    retryable: false,
    title: 'The resource is not in the state the request names (If-Match)',
  },
  method_not_allowed: {
    status: 405,
    retryable: false,
    title: 'The method is not allowed on this resource',
  },
  too_busy: { status: 503, retryable: true, title: 'Too many exports are running' },
  not_ready: { status: 503, retryable: true, title: 'A dependency of the service is not answering' },
  // Exports in progress
  aborted: { status: 499, retryable: true, title: 'The export was aborted' },
  cell_too_long: { status: 422, retryable: false, title: 'A cell is longer than the format allows' },
  too_many_sheets: { status: 422, retryable: false, title: 'The workbook would have too many sheets' },
  // Sources
  source_error: { status: 502, retryable: true, title: 'The data source failed' },
  source_query_error: { status: 400, retryable: false, title: 'The data source rejected the query' },
  source_timeout: { status: 504, retryable: true, title: 'The data source took too long' },
  // Background jobs
  idempotency_conflict: {
    status: 422,
    retryable: false,
    title: 'The Idempotency-Key was used for a different request',
  },
  too_many_exports: { status: 429, retryable: true, title: 'Too many of your exports are queued or running' },
  export_not_found: { status: 404, retryable: false, title: 'The export does not exist' },
  export_not_ready: { status: 409, retryable: true, title: 'The export has not finished yet' },
  export_not_downloadable: { status: 409, retryable: false, title: 'The export has no file to download' },
  export_expired: { status: 410, retryable: false, title: 'The file of the export was deleted' },
  export_too_large: { status: 413, retryable: false, title: 'The export exceeds the size limit for jobs' },
  job_timeout: { status: 504, retryable: false, title: 'The export ran longer than allowed' },
  job_store_error: { status: 503, retryable: true, title: 'The job database failed' },
  // Notifications
  webhook_not_allowed: {
    status: 400,
    retryable: false,
    title: 'The webhook host is not allowed by this service',
  },
  email_not_configured: { status: 400, retryable: false, title: 'This service does not send email' },
  email_not_allowed: {
    status: 400,
    retryable: false,
    title: 'The email domain is not allowed by this service',
  },
  webhook_signature_invalid: { status: 401, retryable: false, title: 'The webhook signature is not valid' },
  // Storage
  storage_error: { status: 502, retryable: true, title: 'The file store failed' },
  storage_integrity_error: {
    status: 502,
    retryable: true,
    title: 'The stored file does not match what was written',
  },
  invalid_link: { status: 403, retryable: false, title: 'The download link is not valid' },
  link_expired: { status: 403, retryable: false, title: 'The download link has expired' },
  range_not_satisfiable: { status: 416, retryable: false, title: 'The requested range is not satisfiable' },
  // Background jobs
  queue_error: { status: 503, retryable: true, title: 'The job queue is not available' },
  // Configuration and everything else
  config_error: { status: 500, retryable: false, title: 'The configuration is not valid' },
  service_closed: { status: 500, retryable: false, title: 'The service is closed' },
  internal: { status: 500, retryable: true, title: 'Internal error' },
} as const satisfies Record<string, { status: number; retryable: boolean; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOG;

export interface TakeoutErrorOptions {
  cause?: unknown;
  /** Extra members for the problem document (e.g. `{ param: 'from' }`). Never secrets. */
  details?: Record<string, unknown>;
}

export class TakeoutError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly retryable: boolean;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message?: string, options: TakeoutErrorOptions = {}) {
    const entry = ERROR_CATALOG[code];
    super(message ?? entry.title, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'TakeoutError';
    this.code = code;
    this.status = entry.status;
    this.retryable = entry.retryable;
    this.details = options.details;
  }
}

export function isTakeoutError(error: unknown): error is TakeoutError {
  return error instanceof TakeoutError;
}

/** Turns anything thrown into a TakeoutError without leaking internals in its message. */
export function coerceError(error: unknown): TakeoutError {
  if (error instanceof TakeoutError) return error;
  if (error instanceof Error && error.name === 'AbortError') {
    return new TakeoutError('aborted', 'The export was aborted', { cause: error });
  }
  return new TakeoutError('internal', 'Internal error', { cause: error });
}

/** The error an aborted `signal` stands for: its reason when that is a TakeoutError, else `aborted`. */
export function abortedBy(signal: AbortSignal): TakeoutError {
  const reason: unknown = signal.reason;
  return reason instanceof TakeoutError
    ? reason
    : new TakeoutError('aborted', 'The export was aborted', { cause: reason });
}

/** Throws `abortedBy(signal)` when the signal has fired. */
export function throwIfAborted(signal: AbortSignal | undefined): void {
  if (signal?.aborted) throw abortedBy(signal);
}
