/**
 * The export page mounted under a path prefix in a host's own Fastify app: `/takeout` (no
 * trailing slash) is sent on to `/takeout/`, where the page's relative URLs (its scripts, `v1/...`)
 * resolve under the prefix, so the page works whichever of the two was typed.
 */
import type { AddressInfo } from 'node:net';
import Fastify, { type FastifyInstance } from 'fastify';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pageRoutes } from '../../src/http/routes/page.js';
import { serviceServerOptions, takeoutRoutes } from '../../src/http/server.js';
import { buildPage, consoleErrors, launchChromium } from '../support/browser.js';
import { numbersDataset, type TestService, testService } from '../support/jobs.js';

let browser: Browser;
let jobs: TestService;
let app: FastifyInstance;
let base: string;

beforeAll(async () => {
  const root = buildPage();
  browser = await launchChromium();
  jobs = await testService({}, { datasets: [numbersDataset('numbers', 5)] });
  app = Fastify();
  app.get('/', async () => 'the host app');
  await app.register(takeoutRoutes, {
    ...serviceServerOptions(jobs.service),
    prefix: '/takeout',
    plugins: [
      async (scope) => {
        await scope.register(pageRoutes, { root });
      },
    ],
  });
  await app.listen({ host: '127.0.0.1', port: 0 });
  base = `http://127.0.0.1:${(app.server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
  await jobs?.close();
});

describe('the export page under a path prefix', () => {
  it('sends the prefix without its slash on to the prefix with it, keeping the query', async () => {
    const moved = await fetch(`${base}/takeout?from=email`, { redirect: 'manual' });
    expect(moved.status).toBe(301);
    expect(moved.headers.get('location')).toBe('/takeout/?from=email');
    const page = await fetch(`${base}/takeout/`, { redirect: 'manual' });
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    // The host's own root is not Takeout's to answer.
    expect(await (await fetch(`${base}/`)).text()).toBe('the host app');
  });

  it('works when opened at the prefix without a trailing slash', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    const errors = consoleErrors(page);
    await page.goto(`${base}/takeout`);
    await page.locator('#export').waitFor({ state: 'visible' });
    expect(new URL(page.url()).pathname).toBe('/takeout/');
    expect(await page.getByLabel('Dataset').inputValue()).toBe('numbers');
    expect(errors).toEqual([]);
    await context.close();
  });
});
