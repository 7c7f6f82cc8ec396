/**
 * Following a background export over its events stream, in headless Chromium against a real
 * server on loopback (development mode): polling when the stream is not available, a stream
 * that goes quiet (a dead connection sends nothing, not even its keep-alive) reconnected with
 * `Last-Event-ID`, and the stream tried again after a while of polling. The page's clock is
 * Playwright's, so that its minutes of waiting pass at once.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import type { Socket } from 'node:net';
import type { Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExportPage } from '../support/browser.js';
import type { PageServer } from '../support/page-server.js';
import { startPageSuite, stopPageSuite } from '../support/page-suite.js';

/** The page's limits (web/src/job-watch.ts): a quiet stream's, and polling's before the stream again. */
const STREAM_IDLE_MS = 35_000;
const STREAM_RETRY_MS = 30_000;

let browser: Browser;
let server: PageServer;

beforeAll(async () => {
  ({ browser, server } = await startPageSuite());
});
afterAll(() => stopPageSuite(browser, server));

const open = () => openExportPage(browser, server.base);

interface StallingProxy {
  base: string;
  /** The `Last-Event-ID` of each events request, in order (null: none). */
  lastEventIds: (string | null)[];
  /** The id of the last event let through before the stream went quiet. */
  passedId: string | undefined;
  close(): Promise<void>;
}

/**
 * A proxy in front of the server whose first events stream lets one event through and then
 * goes quiet for good, the connection left open: what a dead network path looks like.
 */
async function stallingProxy(target: string): Promise<StallingProxy> {
  const sockets = new Set<Socket>();
  const proxy: StallingProxy = { base: '', lastEventIds: [], passedId: undefined, close: async () => {} };
  const http: Server = createServer((req, res) => {
    const events = /\/events$/.test(req.url ?? '');
    const stall = events && proxy.lastEventIds.length === 0;
    if (events) proxy.lastEventIds.push((req.headers['last-event-id'] as string | undefined) ?? null);
    const upstream = httpRequest(
      new URL(req.url ?? '/', target),
      // The server's own Host: in development mode it answers no other.
      { method: req.method, headers: { ...req.headers, host: new URL(target).host } },
      (answer) => {
        res.writeHead(answer.statusCode ?? 502, answer.headers);
        if (!stall) {
          answer.pipe(res);
          return;
        }
        let seen = '';
        answer.setEncoding('utf8');
        answer.on('data', (chunk: string) => {
          if (proxy.passedId !== undefined) return;
          seen += chunk;
          const event = /(?:^|\n\n)id: ([^\n]+)\n[\s\S]*?\n\n/.exec(seen);
          if (!event) return;
          res.write(seen.slice(0, event.index + event[0].length));
          proxy.passedId = event[1];
          answer.destroy(); // upstream gone; the page's connection stays open, silent
        });
      },
    );
    upstream.on('error', () => res.destroy());
    req.pipe(upstream);
  });
  http.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  const address = http.address();
  proxy.base = `http://127.0.0.1:${typeof address === 'object' && address ? address.port : 0}`;
  proxy.close = () =>
    new Promise<void>((resolve) => {
      for (const socket of sockets) socket.destroy();
      http.close(() => resolve());
    });
  return proxy;
}

describe('following an export over its events stream', () => {
  it('falls back to polling when the events stream is not available', async () => {
    const { page, errors, close } = await open();
    let eventsAsked = 0;
    await page.route('**/events', (route) => {
      eventsAsked++;
      return route.fulfill({ status: 502, body: 'bad gateway' });
    });
    await page.getByLabel('Dataset').selectOption('big');
    await page.getByLabel('N', { exact: true }).fill('4000');
    await page.getByRole('button', { name: 'Export', exact: true }).click();
    await expect
      .poll(() => page.locator('#job-title').textContent(), { timeout: 20_000 })
      .toBe('Your file is ready');
    expect(eventsAsked).toBe(1);
    expect(await page.locator('#job-numbers').textContent()).toMatch(/4,000 rows/);
    // The 502 of the stubbed stream is the only console error.
    expect(errors.filter((e) => !/status of 502/.test(e))).toEqual([]);
    await close();
  });

  it('reconnects a stream that went quiet, with Last-Event-ID', async () => {
    const proxy = await stallingProxy(server.base);
    const context = await browser.newContext({ timezoneId: 'Europe/Berlin', locale: 'en-US' });
    const page = await context.newPage();
    try {
      await page.clock.install();
      await page.goto(`${proxy.base}/`);
      await page.locator('#export').waitFor({ state: 'visible' });
      await page.getByLabel('Dataset').selectOption('big');
      await page.getByLabel('N', { exact: true }).fill('5000');
      await page.getByRole('button', { name: 'Export', exact: true }).click();
      await expect.poll(() => proxy.passedId, { timeout: 20_000 }).toBeDefined();
      // The export ends on the server; the page, on its silent stream, has not heard of it.
      await page.waitForTimeout(2000);
      expect(await page.locator('#job-title').textContent()).not.toBe('Your file is ready');
      expect(proxy.lastEventIds).toEqual([null]);
      // Past the idle limit the stream is given up and opened again where it stopped.
      await page.clock.fastForward(STREAM_IDLE_MS + 1000);
      await expect
        .poll(() => page.locator('#job-title').textContent(), { timeout: 20_000 })
        .toBe('Your file is ready');
      expect(proxy.lastEventIds).toEqual([null, proxy.passedId]);
    } finally {
      await context.close();
      await proxy.close();
    }
  });

  it('goes back from polling to the stream after a while', async () => {
    const { page, errors, close } = await open();
    await page.clock.install();
    const answers: number[] = [];
    page.on('response', (response) => {
      if (response.url().endsWith('/events')) answers.push(response.status());
    });
    // The stream is out of service once (a proxy restarting), then back.
    let refused = 0;
    await page.route('**/events', (route) =>
      refused++ === 0 ? route.fulfill({ status: 503, body: 'restarting' }) : route.fallback(),
    );
    await page.getByLabel('Dataset').selectOption('big');
    await page.getByLabel('N', { exact: true }).fill('200000');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/v1/exports') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Export', exact: true }).click(),
    ]);
    const { id } = (await answer.json()) as { id: string };
    // Polled meanwhile: the numbers move without the stream.
    await expect.poll(() => page.locator('#job-numbers').textContent()).toMatch(/rows written/);
    expect(answers).toEqual([503]);
    await page.clock.fastForward(STREAM_RETRY_MS + 1000);
    await expect.poll(() => answers, { timeout: 15_000 }).toEqual([503, 200]);
    await expect.poll(() => page.locator('#job-numbers').textContent()).toMatch(/rows written/);
    await fetch(`${server.base}/v1/exports/${id}/cancel`, { method: 'POST' });
    await expect
      .poll(() => page.locator('#job-title').textContent(), { timeout: 15_000 })
      .toBe('Export canceled');
    expect(errors.filter((e) => !/status of 503/.test(e))).toEqual([]);
    await close();
  });
});
