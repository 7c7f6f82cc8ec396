/**
 * The export page's session against a server with API tokens and JWTs: an emailed link
 * (`#/exports/<id>`) survives the sign-in it asks for (the form, or a token from the embedding
 * app), and a token handed over again for the same user (a renewed JWT, the same token once
 * more) leaves the followed export and the form as they are, while another user's is a new start.
 */
import { SignJWT } from 'jose';
import type { Browser, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { authenticatorFrom } from '../../src/auth/settings.js';
import { tokenDigest } from '../../src/auth/tokens.js';
import { buildPage, consoleErrors, launchChromium } from '../support/browser.js';
import { type PageServer, startPageServer } from '../support/page-server.js';

const ALICE = 'page-token-alice-0123456789';
const SECRET = 'page-session-jwt-secret-0123456789abcdef';
const ISSUER = 'https://app.example';
const AUDIENCE = 'takeout';

let browser: Browser;
let server: PageServer;

beforeAll(async () => {
  const authenticate = authenticatorFrom({
    tokens: [{ sha256: tokenDigest(ALICE), principal: { id: 'alice' } }],
    jwt: { secret: SECRET, issuer: ISSUER, audience: AUDIENCE, tenantClaim: 'org' },
  });
  [browser, server] = await Promise.all([launchChromium(), startPageServer(buildPage(), authenticate)]);
});
afterAll(async () => {
  await browser?.close();
  await server?.close();
});

/** A JWT as the embedding app issues it; each call a new one (its own id and times). */
let issued = 0;
function jwt(sub: string, org: string): Promise<string> {
  issued++;
  return new SignJWT({ org })
    .setProtectedHeader({ alg: 'HS256' })
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setSubject(sub)
    .setJti(`jwt-${issued}`)
    .setIssuedAt(Math.floor(Date.now() / 1000) - issued)
    .setExpirationTime(`${5 + issued}m`)
    .sign(new TextEncoder().encode(SECRET));
}

/** A finished background export of Alice's, made through the API; its id. */
async function aliceExport(): Promise<string> {
  const headers = { authorization: `Bearer ${ALICE}`, 'content-type': 'application/json' };
  const created = await fetch(`${server.base}/v1/exports`, {
    method: 'POST',
    headers: { ...headers, prefer: 'respond-async' },
    body: JSON.stringify({ dataset: 'orders', format: 'csv', params: { currency: 'EUR' } }),
  });
  expect(created.status).toBe(202);
  const { id } = (await created.json()) as { id: string };
  const status = async () =>
    ((await (await fetch(`${server.base}/v1/exports/${id}`, { headers })).json()) as { status: string })
      .status;
  await expect.poll(status, { timeout: 20_000 }).toBe('succeeded');
  return id;
}

/** Hands a token over by the fragment (as an app pointing its frame there) and waits for the page's look. */
async function handOver(page: Page, token: string): Promise<void> {
  await Promise.all([
    page.waitForResponse((r) => r.url().endsWith('/v1/datasets')),
    page.evaluate(`location.hash = ${JSON.stringify(`token=${token}`)}`),
  ]);
  await page.waitForTimeout(300);
}

/** What of a user the page shows: the panel, its address, the form's choices. */
const SHOWN = `({
  panel: !document.getElementById('job').hidden,
  address: location.hash,
  dataset: document.getElementById('dataset').value,
  filename: document.getElementById('filename').value,
})`;

describe('the export page session', () => {
  it('follows the emailed link once the user has signed in', async () => {
    const id = await aliceExport();
    const context = await browser.newContext({ timezoneId: 'UTC' });
    const page = await context.newPage();
    const errors = consoleErrors(page);
    await page.goto(`${server.base}/#/exports/${id}`);
    await page.locator('#sign-in').waitFor({ state: 'visible' });
    // Asked to sign in, the address still holds the link (a reload would follow it too).
    expect(await page.evaluate('location.hash')).toBe(`#/exports/${id}`);
    await page.getByLabel('API token').fill(ALICE);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('button', { name: 'Download', exact: true }).waitFor({ state: 'visible' });
    expect(await page.locator('#job-title').textContent()).toBe('Your file is ready');
    expect(await page.evaluate('location.hash')).toBe(`#/exports/${id}`);
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    await context.close();
  });

  it('follows the emailed link in a frame once the embedding app hands over a token', async () => {
    const id = await aliceExport();
    const context = await browser.newContext({ timezoneId: 'UTC' });
    const page = await context.newPage();
    const errors = consoleErrors(page);
    // The app sends the token only once the page has asked for a sign-in (its first look got a 401).
    await page.route(`${server.base}/embedding-app`, (route) =>
      route.fulfill({
        contentType: 'text/html',
        body: `<!doctype html><title>App</title><iframe title="Export" src="/#/exports/${id}"></iframe>
<script>
  addEventListener('message', (event) => {
    if (!event.data || event.data.type !== 'takeout:ready') return;
    const send = () => {
      const signIn = frames[0].document.getElementById('sign-in');
      if (!signIn || signIn.hidden) return setTimeout(send, 50);
      event.source.postMessage({ type: 'takeout:token', token: ${JSON.stringify(ALICE)} }, location.origin);
    };
    send();
  });
</script>`,
      }),
    );
    await page.goto(`${server.base}/embedding-app`);
    const frame = page.frameLocator('iframe');
    await frame.getByRole('button', { name: 'Download', exact: true }).waitFor({ state: 'visible' });
    expect(await frame.locator('#job-title').textContent()).toBe('Your file is ready');
    expect(errors.filter((e) => !/status of 401/.test(e))).toEqual([]);
    await context.close();
  });

  it("keeps the followed export and the form through the same user's renewed JWT, not another user's", async () => {
    const context = await browser.newContext({ timezoneId: 'UTC' });
    const page = await context.newPage();
    const errors = consoleErrors(page);
    await page.goto(`${server.base}/#token=${await jwt('alice', 'acme')}`);
    await page.locator('#export').waitFor({ state: 'visible' });
    await page.getByLabel('Dataset').selectOption('big');
    await page.getByLabel('N', { exact: true }).fill('20000');
    await page.getByLabel('File name').fill('careful-name');
    const [answer] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/v1/exports') && r.request().method() === 'POST'),
      page.getByRole('button', { name: 'Export', exact: true }).click(),
    ]);
    const { id } = (await answer.json()) as { id: string };
    await expect.poll(() => page.locator('#job-numbers').textContent()).toMatch(/rows written/);

    await handOver(page, await jwt('alice', 'acme'));
    const kept = { panel: true, address: `#/exports/${id}`, dataset: 'big', filename: 'careful-name' };
    expect(await page.evaluate(SHOWN)).toEqual(kept);
    expect(await page.getByLabel('N', { exact: true }).inputValue()).toBe('20000');
    // The watch went on: the export is seen to its end.
    await page.locator('#job-download').waitFor({ state: 'visible', timeout: 20_000 });

    // The same person in another tenant is someone else: nothing of the first is shown.
    await handOver(page, await jwt('alice', 'other-org'));
    expect(await page.evaluate(SHOWN)).toMatchObject({ panel: false, address: '', filename: '' });
    await page.getByLabel('File name').fill('second-name');
    await handOver(page, await jwt('bob', 'other-org'));
    expect(await page.evaluate(SHOWN)).toMatchObject({ panel: false, address: '', filename: '' });
    expect(errors).toEqual([]);
    await context.close();
  });

  it('does not fill the form again when the same token is handed over once more', async () => {
    const context = await browser.newContext({ timezoneId: 'UTC' });
    const page = await context.newPage();
    const errors = consoleErrors(page);
    await page.goto(`${server.base}/#token=${ALICE}`);
    await page.locator('#export').waitFor({ state: 'visible' });
    await page.getByLabel('Dataset').selectOption('big');
    await page.getByLabel('N', { exact: true }).fill('77');
    await handOver(page, ALICE);
    expect(await page.getByLabel('Dataset').inputValue()).toBe('big');
    expect(await page.getByLabel('N', { exact: true }).inputValue()).toBe('77');
    expect(errors).toEqual([]);
    await context.close();
  });
});
