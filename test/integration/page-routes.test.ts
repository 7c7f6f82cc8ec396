/** The export page's route on its own: what it serves, its headers, and a page that was not built. */
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { problemErrorHandler } from '../../src/http/problem.js';
import { pageRoutes } from '../../src/http/routes/page.js';

async function appWith(root: string, frameAncestors?: string[]) {
  const app = Fastify();
  app.setErrorHandler(problemErrorHandler);
  await app.register(pageRoutes, { root, ...(frameAncestors ? { frameAncestors } : {}) });
  return app;
}

describe('pageRoutes', () => {
  it('serves the built files only, with their types, a strict CSP and ETags', async () => {
    const root = mkdtempSync(join(tmpdir(), 'takeout-page-'));
    writeFileSync(join(root, 'index.html'), '<!doctype html><title>t</title>');
    writeFileSync(join(root, 'main.js'), 'export {};');
    writeFileSync(join(root, 'notes.txt'), 'not served');
    const app = await appWith(root, ['https://app.example']);
    const page = await app.inject({ url: '/' });
    expect(page.statusCode).toBe(200);
    expect(page.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(page.headers['content-security-policy']).toContain("frame-ancestors 'self' https://app.example");
    expect(page.headers['referrer-policy']).toBe('no-referrer');
    expect(page.headers['cross-origin-opener-policy']).toBe('same-origin');
    expect(page.headers['permissions-policy']).toContain('camera=()');
    const script = await app.inject({ url: '/page/main.js' });
    expect(script.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(script.body).toBe('export {};');
    const etag = String(script.headers.etag);
    expect((await app.inject({ url: '/page/main.js', headers: { 'if-none-match': etag } })).statusCode).toBe(
      304,
    );
    const head = await app.inject({ method: 'HEAD', url: '/page/main.js' });
    expect(head.statusCode).toBe(200);
    expect(head.body).toBe('');
    for (const url of ['/page/notes.txt', '/page/index.html', '/page/..%2Findex.html']) {
      expect((await app.inject({ url })).statusCode, url).toBe(404);
    }
    await app.close();
  });

  it('answers a problem that says how to build the page when it was not built', async () => {
    const app = await appWith(join(tmpdir(), 'takeout-page-missing-dir'));
    const answer = await app.inject({ url: '/' });
    expect(answer.statusCode).toBe(404);
    expect(answer.headers['content-type']).toContain('application/problem+json');
    expect(answer.json()).toMatchObject({
      code: 'not_found',
      detail: expect.stringContaining('npm run build'),
    });
    await app.close();
  });
});
