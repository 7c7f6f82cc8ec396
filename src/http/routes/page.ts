/**
 * The export page (`web/`, built into `dist/web`): `GET /` and its assets under `/page/`; under a
 * prefix, `GET /prefix` answers 301 to `/prefix/`.
 * Public like `/healthz` (the page asks for a token itself; the API it calls needs one). The
 * files are read once at start-up, so a request can never name a path on disk.
 */
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { extname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance, FastifyReply, FastifyRequest } from 'fastify';
import { TakeoutError } from '../../errors.js';

export interface PageRoutesOptions {
  /** The built page (index.html, page.css, *.js). Default: `dist/web` beside the built server. */
  root?: string;
  /**
   * Origins that may show the page in a frame (CSP `frame-ancestors`), e.g. the application
   * that embeds it and hands it a JWT. Default: only Takeout's own origin.
   */
  frameAncestors?: readonly string[];
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
};

interface Asset {
  body: Buffer;
  contentType: string;
  etag: string;
}

/** `dist/web` seen from `dist/http/routes/page.js`. */
export function defaultPageRoot(): string {
  return fileURLToPath(new URL('../../web/', import.meta.url));
}

function loadAssets(root: string): Map<string, Asset> {
  const assets = new Map<string, Asset>();
  if (!existsSync(root)) return assets;
  for (const name of readdirSync(root)) {
    const contentType = CONTENT_TYPES[extname(name)];
    if (!contentType) continue;
    const body = readFileSync(join(root, name));
    const etag = `"${createHash('sha256').update(body).digest('base64url').slice(0, 27)}"`;
    assets.set(name, { body, contentType, etag });
  }
  return assets;
}

/** No inline script or style, nothing from other origins: the page only talks to this server. */
export function pageSecurityPolicy(frameAncestors: readonly string[] = []): string {
  return [
    "default-src 'self'",
    "script-src 'self'",
    "style-src 'self'",
    "img-src 'self' data:",
    "connect-src 'self'",
    "object-src 'none'",
    "base-uri 'none'",
    "form-action 'self'",
    `frame-ancestors ${["'self'", ...frameAncestors].join(' ')}`,
  ].join('; ');
}

const PERMISSIONS_POLICY = 'camera=(), microphone=(), geolocation=(), payment=(), usb=(), serial=()';

export async function pageRoutes(app: FastifyInstance, options: PageRoutesOptions = {}): Promise<void> {
  const root = options.root ?? defaultPageRoot();
  const assets = loadAssets(root);
  const policy = pageSecurityPolicy(options.frameAncestors);

  const send = (request: FastifyRequest, reply: FastifyReply, name: string) => {
    const asset = assets.get(name);
    if (!asset) {
      throw new TakeoutError(
        'not_found',
        name === 'index.html'
          ? 'The export page is not built: run "npm run build"'
          : `No page asset ${JSON.stringify(name).slice(0, 80)}`,
      );
    }
    reply
      .header('content-security-policy', policy)
      .header('x-content-type-options', 'nosniff')
      .header('referrer-policy', 'no-referrer')
      // The page opens no window of another origin and uses no device or sensor.
      .header('cross-origin-opener-policy', 'same-origin')
      .header('permissions-policy', PERMISSIONS_POLICY)
      // Small files without fingerprints: revalidated each time, answered 304 when unchanged.
      .header('cache-control', 'no-cache')
      .header('etag', asset.etag);
    const ifNoneMatch = request.headers['if-none-match'];
    if (ifNoneMatch?.split(',').some((tag) => tag.trim() === asset.etag)) return reply.code(304).send();
    return reply.type(asset.contentType).send(asset.body);
  };

  app.get('/', (request, reply) => {
    // Mounted under a prefix, `/takeout` matches too, but the page's relative URLs (`page/...`,
    // `v1/...`) would resolve against `/`: the browser is sent on to `/takeout/`.
    const [path = '/', query] = request.url.split(/\?(.*)/s);
    if (!path.endsWith('/')) {
      // One leading slash: never a `//host` that the browser would read as another origin.
      const location = `/${path.replace(/^\/+/, '')}/${query ? `?${query}` : ''}`;
      return reply.code(301).header('location', location).send();
    }
    return send(request, reply, 'index.html');
  });
  app.get('/page/:name', (request, reply) => {
    const { name } = request.params as { name: string };
    return send(request, reply, name === 'index.html' ? '' : name);
  });
}
