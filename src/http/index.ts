// `takeout/http`: the Fastify routes, apart from the main entry so that using Takeout as a
// library does not load the HTTP stack.
export {
  type Authenticate,
  anonymous,
  bearerTokens,
  type FastifyAuthenticate,
} from './auth.js';
export { contentDisposition, sanitizeFilename } from './content-disposition.js';
export {
  type HostAuthenticate,
  type NodeHandlerOptions,
  type TakeoutNodeHandler,
  takeoutHandler,
} from './node-handler.js';
export type { RateLimitOptions } from './rate-limit.js';
export { filesRoutes } from './routes/files.js';
export { type PageRoutesOptions, pageRoutes } from './routes/page.js';
export {
  buildServer,
  DEFAULT_LIMITS,
  serviceServerOptions,
  type TakeoutServerOptions,
  takeoutRoutes,
} from './server.js';
