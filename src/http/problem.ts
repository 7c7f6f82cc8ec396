import type { FastifyError, FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { JWKS_RETRY_MS } from '../auth/jwks.js';
import { coerceError, ERROR_CATALOG, TakeoutError } from '../errors.js';
import { systemCause } from '../system-cause.js';
import { recordAllowedMethods } from './allowed-methods.js';
import { isQuietRoute } from './routes/health.js';
import { SLOT_RETRY_AFTER_SECONDS } from './sync-slots.js';

/** Seconds a caller at its cap of background exports waits before asking again. */
const JOB_CAP_RETRY_AFTER_SECONDS = 30;

export const PROBLEM_TYPE_BASE = 'https://takeout.dev/errors/';

/** The RFC 9457 problem document of an error. Internal details never leave the server. */
export function problemOf(error: TakeoutError, instance?: string): Record<string, unknown> {
  // Details first: an extension member never replaces a standard one (`status` stays the HTTP code).
  return {
    ...snakeCaseMembers(error.details),
    type: PROBLEM_TYPE_BASE + error.code,
    title: ERROR_CATALOG[error.code].title,
    status: error.status,
    code: error.code,
    detail: error.code === 'internal' ? 'Internal error' : error.message,
    retryable: error.retryable,
    ...(instance ? { instance } : {}),
  };
}

/** Details are named in code's camelCase; over HTTP, members are snake_case like every body. */
function snakeCaseMembers(details: Record<string, unknown> | undefined): Record<string, unknown> {
  if (!details) return {};
  const members: Record<string, unknown> = {};
  for (const [key, value] of Object.entries(details)) {
    members[key.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`)] = value;
  }
  return members;
}

/** Maps Fastify's own errors (body parsing, limits, ...) to catalog codes. */
function fromFastify(error: FastifyError): TakeoutError | undefined {
  switch (error.code) {
    case 'FST_ERR_CTP_BODY_TOO_LARGE':
      return new TakeoutError('body_too_large', 'The request body is too large');
    case 'FST_ERR_CTP_INVALID_MEDIA_TYPE':
      return new TakeoutError('unsupported_media_type', 'The request body must be application/json');
    case 'FST_ERR_CTP_EMPTY_JSON_BODY':
      return new TakeoutError('invalid_json', 'The request body is empty');
    case 'FST_ERR_CTP_INVALID_CONTENT_LENGTH':
      return new TakeoutError('invalid_request', 'The Content-Length header is not valid');
    // The client hung up (or was cut by the request timeout) while sending its body.
    case 'ECONNRESET':
      return new TakeoutError('aborted', 'The client went away while sending its request');
    default:
      if (error instanceof SyntaxError || error.code === 'FST_ERR_CTP_INVALID_JSON_BODY') {
        return new TakeoutError('invalid_json', 'The request body is not valid JSON');
      }
      if (error.validation) return new TakeoutError('invalid_request', error.message);
      return undefined;
  }
}

function toTakeoutError(error: unknown): TakeoutError {
  if (error instanceof TakeoutError) return error;
  const fastifyError = error as FastifyError;
  if (
    fastifyError &&
    typeof fastifyError === 'object' &&
    (typeof fastifyError.code === 'string' || error instanceof SyntaxError)
  ) {
    const mapped = fromFastify(fastifyError);
    if (mapped) return mapped;
  }
  return coerceError(error);
}

function sendProblem(reply: FastifyReply, error: TakeoutError, instance?: string): FastifyReply {
  if (error.code === 'unauthorized' && !reply.hasHeader('www-authenticate'))
    reply.header('www-authenticate', 'Bearer');
  // Busy, shutting down (the export is cut by the shutdown signal), or at the caller's cap of
  // exports: worth a retry soon. A route that knows better sets its own.
  if (error.code === 'too_busy' && !reply.hasHeader('retry-after'))
    reply.header('retry-after', String(SLOT_RETRY_AFTER_SECONDS));
  // The per-owner cap of background exports: it clears when one of them ends, minutes rather
  // than seconds (the sync-slot refusal of the same code sets its own, shorter).
  if (error.code === 'too_many_exports' && !reply.hasHeader('retry-after'))
    reply.header('retry-after', String(JOB_CAP_RETRY_AFTER_SECONDS));
  // The issuer's keys are fetched again at most this often while they fail.
  if (error.code === 'auth_unavailable' && !reply.hasHeader('retry-after'))
    reply.header('retry-after', String(JWKS_RETRY_MS / 1000));
  // RFC 9110 §15.5.16: a 415 for a content coding says which codings would do.
  if (error.code === 'unsupported_media_type' && error.details?.acceptEncoding)
    reply.header('accept-encoding', String(error.details.acceptEncoding));
  // A refusal is about that moment (a token, a limit, a job's state): no cache may keep it.
  if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store');
  return reply
    .code(error.status)
    .header('x-content-type-options', 'nosniff')
    .type('application/problem+json')
    .send(problemOf(error, instance));
}

/**
 * Fastify error handler: every error becomes problem+json; unexpected ones are logged in full,
 * a failed dependency (a 5xx other than load shedding) at `warn`. Other refusals are logged at
 * `info`, except on the quiet routes (probes, scrapes), which log only `warn` and up: there a
 * failure is the one line worth seeing (with why, for a readiness check).
 */
export function problemErrorHandler(
  error: unknown,
  request: FastifyRequest,
  reply: FastifyReply,
): FastifyReply {
  let problem = toTakeoutError(error);
  const path = request.url.split('?')[0];
  // Fastify's refusal does not say the limit: the route's, in bytes, as `limit`.
  const bodyLimit = request.routeOptions?.bodyLimit;
  if (problem.code === 'body_too_large' && !problem.details && typeof bodyLimit === 'number') {
    problem = new TakeoutError('body_too_large', `The request body is larger than ${bodyLimit} bytes`, {
      details: { limit: bodyLimit },
    });
  }
  if (problem.code === 'internal') request.log.error({ err: error }, 'unexpected error');
  // A probe that fails, a scrape refused: the one line worth seeing on a quiet route (a scanner's
  // 404 stays at info, or it would fill the log with warnings).
  else if (isQuietRoute(request) && (problem.code === 'not_ready' || problem.code === 'unauthorized')) {
    const reason = problem.code === 'not_ready' ? (problem.cause as Error | undefined)?.message : undefined;
    request.log.warn(
      { code: problem.code, method: request.method, url: path, ...(reason ? { reason } : {}) },
      problem.message,
    );
  }
  // A dependency that failed (storage, queue, job store, data source) is the operator's to see.
  else if (problem.status >= 500 && problem.code !== 'too_busy') {
    // The system's reason (ENOSPC), or why the issuer's keys could not be fetched (a timeout, a 503).
    const cause =
      systemCause(problem.cause) ??
      (problem.code === 'auth_unavailable' && problem.cause instanceof Error
        ? problem.cause.message
        : undefined);
    request.log.warn(
      { code: problem.code, method: request.method, url: path, ...(cause ? { cause } : {}) },
      problem.message,
    );
  } else request.log.info({ code: problem.code }, problem.message);
  // RFC 6750 §3.1: a token was sent and refused (expired, unknown, malformed), not just missing.
  if (problem.code === 'unauthorized' && /^Bearer\s/i.test(request.headers.authorization ?? '')) {
    reply.header('www-authenticate', 'Bearer error="invalid_token"');
  }
  return sendProblem(reply, problem, path);
}

/**
 * Fastify's `frameworkErrors`: what the router refuses before any route runs (a malformed
 * %-escape, a path segment past `maxParamLength`) is a problem like any other, not
 * Fastify's own JSON that echoes the URL back.
 */
export function frameworkErrorHandler(
  error: FastifyError,
  _request: FastifyRequest,
  reply: FastifyReply,
): void {
  switch (error.code) {
    case 'FST_ERR_BAD_URL':
      sendProblem(reply, new TakeoutError('invalid_request', 'The URL is malformed'));
      return;
    case 'FST_ERR_MAX_PARAM_LENGTH':
      // No id or name is that long: nothing is there.
      sendProblem(reply, new TakeoutError('not_found', 'No such resource'));
      return;
    default:
      sendProblem(reply, toTakeoutError(error));
  }
}

/**
 * Answers requests no route takes: `405 method_not_allowed` with `Allow` when the path is served
 * with other methods, else `404 not_found`. Call it before any route is added (they are
 * recorded as they are). Like any unknown route, a 405 comes before authentication, which only
 * Takeout's routes do: which methods a path takes is public (`/v1/openapi.json`).
 */
export function answerUnknownRoutes(app: FastifyInstance): void {
  const allowedMethods = recordAllowedMethods(app);
  const answer = (request: FastifyRequest, reply: FastifyReply): FastifyReply => {
    const path = request.url.split('?')[0];
    const allowed = allowedMethods(request.url);
    if (allowed.length === 0) {
      return sendProblem(reply, new TakeoutError('not_found', `No route ${request.method} ${path}`), path);
    }
    reply.header('allow', allowed.join(', '));
    const message = `${request.method} is not allowed on ${path}; use ${allowed.join(', ')}`;
    return sendProblem(reply, new TakeoutError('method_not_allowed', message), path);
  };
  app.setNotFoundHandler(answer);
  // Fastify reads a request's body before its not-found handler runs: answered here instead, an
  // unknown route takes no body, nor asks for one with `100 Continue` (expect-continue.ts).
  app.addHook('preParsing', async (request, reply, payload) => {
    if (!request.is404) return payload;
    // A reply is a thenable that settles once sent: Fastify then stops, body unread.
    return answer(request, reply);
  });
}

/**
 * What a Takeout Fastify instance answers besides its routes, all as problem documents: errors,
 * unknown routes and wrong methods, and requests that reach it while it closes (given to the
 * routes with `return503OnClosing: false`; here 503 too_busy with Retry-After instead of
 * Fastify's JSON).
 */
export function answerWithProblems(app: FastifyInstance): void {
  app.setErrorHandler(problemErrorHandler);
  answerUnknownRoutes(app);
  let closing = false;
  app.addHook('preClose', async () => {
    closing = true;
  });
  app.addHook('onRequest', async () => {
    if (closing) throw new TakeoutError('too_busy', 'The server is shutting down; retry in a few seconds');
  });
}
