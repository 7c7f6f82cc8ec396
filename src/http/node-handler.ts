/**
 * Takeout's API as a plain Node `(req, res)` handler, for apps that are not Fastify apps:
 * Express, Koa, `node:http`. The same routes as the standalone server (sync exports, jobs,
 * datasets, OpenAPI, signed file links), mounted under the host's path and behind the host's
 * own authentication. Requests go through Fastify's router (`fastify.routing`) on the host's
 * own `req`/`res`: nothing is injected or buffered, so responses stream with backpressure and a
 * client that hangs up stops its export, exactly as in the standalone server.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { Readable } from 'node:stream';
import Fastify, { type FastifyInstance, type FastifyRequest } from 'fastify';
import { type Authenticate, unauthorized } from '../auth.js';
import type { Principal } from '../datasets/define.js';
import { TakeoutError } from '../errors.js';
import { isServedStorage } from '../storage/types.js';
import { answerWithProblems, frameworkErrorHandler } from './problem.js';
import { requestId } from './request-id.js';
import { filesRoutes } from './routes/files.js';
import { DEFAULT_BODY_LIMIT, type TakeoutServerOptions, takeoutRoutes } from './server.js';

/**
 * Who a request comes from, as the host app knows it (its session, its middleware's `req.user`):
 * the principal, or `undefined` for `401 unauthorized`. It gets the host's own `req` object.
 */
export type HostAuthenticate<Req extends IncomingMessage = IncomingMessage> = (
  req: Req,
) => Principal | undefined | Promise<Principal | undefined>;

/**
 * `Req` is the host's request type (Express's `Request` with its `user`, say): `authenticate`
 * may declare it, since it gets the host's own `req`.
 */
export interface NodeHandlerOptions<Req extends IncomingMessage = IncomingMessage>
  extends Omit<
    TakeoutServerOptions,
    'authenticate' | 'loopbackHostsOnly' | 'headersTimeoutMs' | 'requestTimeoutMs'
  > {
  /**
   * The path the host serves the API under, e.g. `/api/takeout`: routes, `Location` headers,
   * job links, the OpenAPI document and download links all carry it. Default: none.
   */
  prefix?: string;
  authenticate: HostAuthenticate<Req>;
}

/** The handler, plus `close()`: stops the sync exports in flight (the service stays the host's). */
export interface TakeoutNodeHandler {
  (req: IncomingMessage, res: ServerResponse, next?: unknown): void;
  readonly prefix: string;
  /** The Fastify instance behind the handler (for its logger, or tests). */
  readonly app: FastifyInstance;
  close(): Promise<void>;
}

function normalizePrefix(prefix = ''): string {
  const trimmed = prefix.replace(/\/+$/, '');
  if (trimmed !== '' && !/^(\/[A-Za-z0-9._~!$&'()+,;=@-]+)+$/.test(trimmed)) {
    throw new TakeoutError(
      'config_error',
      `The mount prefix must be a plain path like /api/takeout, got ${JSON.stringify(prefix)}`,
    );
  }
  return trimmed;
}

/**
 * The path Takeout routes: Express strips its mount path from `req.url` and keeps the whole one
 * in `req.originalUrl`; a mount that strips without keeping it (koa-mount) gets the prefix back.
 */
function routedUrl(req: IncomingMessage, prefix: string): string {
  const original = (req as { originalUrl?: unknown }).originalUrl;
  const url = typeof original === 'string' ? original : (req.url ?? '/');
  if (prefix === '' || url === prefix || url.startsWith(`${prefix}/`) || url.startsWith(`${prefix}?`)) {
    return url;
  }
  return `${prefix}${url.startsWith('/') ? '' : '/'}${url}`;
}

/** The host's authentication as the one Takeout's routes call (with the host's `req`). */
function hostAuthentication<Req extends IncomingMessage>(authenticate: HostAuthenticate<Req>): Authenticate {
  return async (request) => {
    // The host's own `req`, which the host handed to the handler: of its type.
    const req = ((request as Partial<FastifyRequest>).raw ?? request) as Req;
    const principal = await authenticate(req);
    if (!principal || typeof principal.id !== 'string' || principal.id === '') {
      throw unauthorized('Authentication is required');
    }
    return principal;
  };
}

/**
 * A body the host's own parser (e.g. `express.json()` mounted before Takeout) already read:
 * Takeout parses it again from its JSON text, with its own limits and checks. Without a parsed
 * body left behind, the request cannot be answered.
 */
function replayConsumedBody(app: FastifyInstance): void {
  app.addHook('preParsing', async (request, _reply, payload) => {
    const raw = request.raw as IncomingMessage & { body?: unknown };
    const length = request.headers['content-length'];
    const hasBody = Number(length ?? 0) > 0 || request.headers['transfer-encoding'] !== undefined;
    if (!raw.readableEnded || !hasBody) return payload;
    if (raw.body === undefined) {
      throw new TakeoutError(
        'config_error',
        'The request body was read before Takeout got it; mount Takeout before body parsers',
      );
    }
    const text = Buffer.isBuffer(raw.body)
      ? raw.body
      : Buffer.from(typeof raw.body === 'string' ? raw.body : JSON.stringify(raw.body));
    // The body's length is no longer the header's: say what was received on the wire.
    return Object.assign(Readable.from([text]), {
      receivedEncodedLength: length === undefined ? text.byteLength : Number(length),
    });
  });
}

/**
 * Builds Takeout's API as a Node request handler. Mount it where the host serves `prefix`:
 *
 *     app.use('/api/takeout', await takeoutHandler({ prefix: '/api/takeout', datasets, authenticate }))
 *
 * The host's HTTP server keeps its own timeouts and connections; Takeout's limits (sync slots,
 * first-byte and idle timeouts, rate limit) apply as in the standalone server. A disk or memory
 * storage's links must point under the prefix (its `baseUrl` ending in it); Takeout serves them.
 */
export async function takeoutHandler<Req extends IncomingMessage = IncomingMessage>(
  options: NodeHandlerOptions<Req>,
): Promise<TakeoutNodeHandler> {
  const prefix = normalizePrefix(options.prefix);
  const { prefix: _prefix, authenticate, plugins = [], ...serverOptions } = options;
  const { storage } = options;
  if (storage && isServedStorage(storage)) {
    const probe = await storage.signedUrl(`${storage.prefix}probe`, {
      expiresIn: 60,
      filename: 'probe',
      contentType: 'text/plain',
    });
    const path = new URL(probe, 'http://host.invalid').pathname;
    if (!path.startsWith(`${prefix}${storage.routePrefix}/`)) {
      throw new TakeoutError(
        'config_error',
        `The storage's download links (${path.split('/').slice(0, -1).join('/')}/...) are not under ${prefix}${storage.routePrefix}/: give the storage baseUrl "${prefix}" (or your origin followed by it)`,
      );
    }
  }
  const app = Fastify({
    logger: options.logger ?? false,
    bodyLimit: options.bodyLimit ?? DEFAULT_BODY_LIMIT,
    requestIdHeader: false,
    genReqId: requestId,
    frameworkErrors: frameworkErrorHandler,
    // After handler.close(), a request is answered by answerWithProblems, not Fastify's JSON.
    return503OnClosing: false,
  });
  answerWithProblems(app);
  replayConsumedBody(app);
  await app.register(
    (scope) =>
      takeoutRoutes(scope, {
        ...serverOptions,
        authenticate: hostAuthentication(authenticate),
        plugins: [
          ...(storage && isServedStorage(storage)
            ? [
                async (files: FastifyInstance) => {
                  await files.register(filesRoutes, { storage });
                },
              ]
            : []),
          ...plugins,
        ],
      }),
    { prefix },
  );
  await app.ready();
  const handler = (req: IncomingMessage, res: ServerResponse): void => {
    req.url = routedUrl(req, prefix);
    // Fastify answers with the status it finds on `res` unless a route sets one, and a host
    // may have set one already: Koa sets 404 before its middleware runs.
    res.statusCode = 200;
    app.routing(req, res);
  };
  return Object.assign(handler, { prefix, app, close: () => app.close() });
}
