/**
 * The export page's accessibility in headless Chromium against a real server on loopback
 * (development mode): keyboard-only use, an axe-core scan, the contrast of text, control edges
 * and the focus ring computed from the browser's own styles (light and dark), a failed
 * export's reason as text the keyboard and screen readers reach, and no sideways scrolling from
 * 320 to 1280 px (text at 200 % too) with a readable File column in "My exports".
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import type { Browser, BrowserContextOptions, Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openExportPage, tabTo } from '../support/browser.js';
import { exportLinks, readyExport } from '../support/page-fixtures.js';
import { orders, type PageServer } from '../support/page-server.js';
import { startPageSuite, stopPageSuite } from '../support/page-suite.js';

const axeSource = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

// Browser-side code as text: the tests are compiled without the DOM's types.
const RUN_AXE = `axe.run().then((result) => result.violations.map((v) => ({
  id: v.id, impact: v.impact, nodes: v.nodes.map((n) => n.target.join(' ')),
})))`;

/**
 * `window.contrast(selector, what)`: WCAG contrast ratios of what the selected visible elements
 * show, from their computed styles, with the backgrounds behind them and their opacity
 * composited: `text` (and `placeholder`) against the element's background, `border` against
 * both sides of the edge, `ring` (the focus outline) against what is behind it.
 */
const CONTRAST = `window.contrast = (selector, what) => {
  const rgba = (c) => { const p = c.match(/[\\d.]+/g).map(Number); return [p[0], p[1], p[2], p[3] ?? 1]; };
  const over = (top, under) => [0, 1, 2].map((i) => top[i] * top[3] + under[i] * (1 - top[3])).concat(1);
  const faded = (color, alpha, under) => over([color[0], color[1], color[2], alpha], under);
  const lin = (c) => { c /= 255; return c <= 0.03928 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4; };
  const lum = (c) => 0.2126 * lin(c[0]) + 0.7152 * lin(c[1]) + 0.0722 * lin(c[2]);
  const ratio = (a, b) => { const [x, y] = [lum(a), lum(b)].sort((p, q) => q - p); return Math.round(((x + 0.05) / (y + 0.05)) * 100) / 100; };
  const behind = (el) => {
    const chain = [];
    for (let e = el.parentElement; e; e = e.parentElement) chain.unshift(e);
    return chain.reduce((color, e) => over(rgba(getComputedStyle(e).backgroundColor), color), [255, 255, 255, 1]);
  };
  return [...document.querySelectorAll(selector)].filter((el) => el.getClientRects().length > 0).map((el) => {
    const style = getComputedStyle(el);
    const under = behind(el);
    const alpha = Number(style.opacity);
    const own = over(rgba(style.backgroundColor), under);
    const box = faded(own, alpha, under);
    const name = el.id ? '#' + el.id : el.tagName.toLowerCase() + '.' + el.className;
    if (what === 'text' || what === 'placeholder') {
      const color = rgba(what === 'text' ? style.color : getComputedStyle(el, '::placeholder').color);
      return { name, ratio: ratio(faded(over(color, own), alpha, under), box) };
    }
    if (what === 'border') {
      const edge = faded(over(rgba(style.borderTopColor), own), alpha, under);
      return { name, ratio: Math.min(ratio(edge, box), ratio(edge, under)) };
    }
    const ring = faded(over(rgba(style.outlineColor), under), alpha, under);
    return { name, ratio: style.outlineStyle === 'none' || !el.matches(':focus-visible') ? 0 : ratio(ring, under) };
  });
};`;

/** Each column key's text, and the lines it takes on screen (one rectangle per line). */
const KEY_TEXTS = `[...document.querySelectorAll('.columns .hint')].map((el) => el.textContent + ': 1 line')`;
const KEY_LINES = `[...document.querySelectorAll('.columns .hint')].map((el) => {
  const range = document.createRange();
  range.selectNodeContents(el);
  const tops = new Set([...range.getClientRects()].map((r) => Math.round(r.top)));
  return el.textContent + ': ' + tops.size + (tops.size === 1 ? ' line' : ' lines');
})`;

/** How far the page is wider than the window: scrolled sideways when more than 0. */
const SIDEWAYS = 'document.documentElement.scrollWidth - document.documentElement.clientWidth';
/** Whether the first row's File cell is at least 6rem wide and its text within the window. */
const FILE_CELL = `(() => {
  const cell = document.querySelector('#history-rows td[data-label="File"]');
  const range = document.createRange();
  range.selectNodeContents(cell);
  const text = range.getBoundingClientRect();
  const rem = parseFloat(getComputedStyle(document.documentElement).fontSize);
  return {
    wide: cell.getBoundingClientRect().width >= 6 * rem,
    visible: text.width > 0 && text.left >= 0 && text.right <= document.documentElement.clientWidth,
  };
})()`;

/**
 * One row of "My exports" as Chromium's accessibility tree has it (CDP): each cell's role, its
 * name and the texts a screen reader reads in it, in order (the generated label included unless
 * it is hidden from assistive technology).
 */
async function rowForScreenReaders(
  page: Page,
  id: string,
): Promise<{ role: string; cells: { role: string; name: string; texts: string[] }[] }> {
  const cdp = await page.context().newCDPSession(page);
  const { root } = await cdp.send('DOM.getDocument');
  const { nodeId } = await cdp.send('DOM.querySelector', {
    nodeId: root.nodeId,
    selector: `#history-rows tr[data-id="${id}"]`,
  });
  const { node } = await cdp.send('DOM.describeNode', { nodeId });
  const { nodes } = await cdp.send('Accessibility.getFullAXTree');
  await cdp.detach();
  const byId = new Map(nodes.map((n) => [n.nodeId, n]));
  const texts = (n: (typeof nodes)[number] | undefined): string[] =>
    !n
      ? []
      : !n.ignored && n.role?.value === 'StaticText'
        ? [String(n.name?.value ?? '')]
        : (n.childIds ?? []).flatMap((child) => texts(byId.get(child)));
  const row = nodes.find((n) => n.backendDOMNodeId === node.backendNodeId);
  const cells = (row?.childIds ?? []).map((child) => byId.get(child)).filter((n) => n && !n.ignored);
  return {
    role: String(row?.role?.value),
    cells: cells.map((cell) => ({
      role: String(cell?.role?.value),
      name: String(cell?.name?.value ?? ''),
      texts: texts(cell),
    })),
  };
}

/**
 * Each labelled cell of the row `id` as seen on screen: its label (the ::before content, shown
 * when not `none`) and whether its value starts to the right of the cell's left edge (beside the
 * label; alone, it would start at the edge).
 */
const shownLabels = (
  id: string,
) => `[...document.querySelectorAll('#history-rows tr[data-id="${id}"] td:not(.row-actions)')].map((td) => {
  const range = document.createRange();
  range.selectNodeContents(td);
  const before = getComputedStyle(td, '::before');
  return {
    label: td.dataset.label,
    content: before.content,
    shown: before.display !== 'none' && range.getBoundingClientRect().left - td.getBoundingClientRect().left > 16,
  };
})`;

let browser: Browser;
let server: PageServer;

beforeAll(async () => {
  ({ browser, server } = await startPageSuite());
});
afterAll(() => stopPageSuite(browser, server));

const open = (options: BrowserContextOptions = {}) => openExportPage(browser, server.base, options);

/** The sentence and, after it, the server's own reason. */
const FAILURE = 'The data source could not produce this export. column "amount" does not exist';

/** "My exports" as the page gets it: a ready file, a failed export and a running one. */
const LISTED = {
  exports: [
    readyExport('exp_readyAAAAAAAAAAAAAAAAA'),
    {
      id: 'exp_failedAAAAAAAAAAAAAAAA',
      status: 'failed',
      dataset: 'orders',
      format: 'xlsx',
      created_at: '2024-05-02T09:00:00Z',
      finished_at: '2024-05-02T09:00:05Z',
      progress: { rows_written: 0, bytes_written: 0 },
      error: { code: 'source_query_error', message: 'column "amount" does not exist' },
      links: exportLinks('exp_failedAAAAAAAAAAAAAAAA'),
    },
  ],
};

/** The list above instead of the server's. */
async function listFixture(page: Page): Promise<void> {
  await page.route(/\/v1\/exports\?/, (route) => route.fulfill({ json: LISTED }));
}

describe('the export page for everyone', () => {
  it('works with the keyboard alone, with a visible focus', async () => {
    const { page, errors, close } = await open();
    await tabTo(page, '#dataset');
    await tabTo(page, 'select[name=country]');
    await page.keyboard.press('ArrowDown'); // Any → US
    await page.keyboard.press('ArrowDown'); // → DE
    await tabTo(page, '#format');
    await page.keyboard.type('JSON');
    expect(await page.locator('#format').inputValue()).toBe('json');
    await tabTo(page, '#column-1'); // Customer
    await page.keyboard.press('Space');
    await tabTo(page, 'button[aria-label="Move Country up"]');
    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter'); // focus stays on the button: Country moves again
    const outline = await page.evaluate('getComputedStyle(document.activeElement).outlineStyle');
    expect(outline).not.toBe('none');
    await tabTo(page, '#export-button');
    const [download] = await Promise.all([page.waitForEvent('download'), page.keyboard.press('Enter')]);
    const rows = JSON.parse(readFileSync(await download.path(), 'utf8')) as Record<string, unknown>[];
    const expected = orders().filter((o) => o.country === 'DE');
    expect(rows.length).toBe(expected.length);
    expect(Object.keys(rows[0]!)).toEqual(['country', 'id', 'amount', 'order_date', 'shipped_at']);
    expect(errors).toEqual([]);
    await close();
  });

  it('passes axe-core without serious or critical violations, on a desktop (light) and a 375 px phone (dark)', async () => {
    // A finished export in the list, whichever tests ran before.
    const created = await fetch(`${server.base}/v1/exports`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', prefer: 'respond-async, wait=10' },
      body: JSON.stringify({ dataset: 'orders', format: 'csv', params: { currency: 'EUR' } }),
      redirect: 'manual',
    });
    expect([202, 303]).toContain(created.status);
    // axe is injected as an inline script, which the page's CSP forbids: bypassed for the scan only.
    const { page, errors, close } = await open({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    await page.locator('#history-rows tr').first().waitFor();
    await page.addScriptTag({ content: axeSource });
    for (const [width, height, colorScheme] of [
      [1280, 900, 'light'],
      [375, 812, 'dark'],
    ] as const) {
      await page.setViewportSize({ width, height });
      await page.emulateMedia({ colorScheme });
      const violations = (await page.evaluate(RUN_AXE)) as { id: string; impact: string; nodes: string[] }[];
      const serious = violations.filter((v) => v.impact === 'serious' || v.impact === 'critical');
      expect(serious, `${width} px, ${colorScheme}`).toEqual([]);
      // Nothing wider than the screen: no sideways scrolling on a phone.
      expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(width);
      // A column's key, "(order_date)", stays on one line: it may wrap below the name, whole.
      expect(await page.evaluate(KEY_LINES), `${width} px`).toEqual(await page.evaluate(KEY_TEXTS));
    }
    expect(errors).toEqual([]);
    await close();
  });

  it('keeps text at 4.5:1 and control edges and the focus ring at 3:1, light and dark', async () => {
    // An Export kept busy (its request held), so that its busy look is measured too.
    const { page, errors, close } = await open({ viewport: { width: 1280, height: 900 }, bypassCSP: true });
    await listFixture(page);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('#history-rows tr[data-id="exp_failedAAAAAAAAAAAAAAAA"]').waitFor();
    let release: () => void = () => {};
    const held = new Promise<void>((resolve) => {
      release = resolve;
    });
    await page.route(/\/v1\/exports$/, async (route) => {
      await held;
      await route.abort();
    });
    await page.addScriptTag({ content: CONTRAST });
    const measure = (selector: string, what: string) =>
      page.evaluate(`window.contrast(${JSON.stringify(selector)}, ${JSON.stringify(what)})`) as Promise<
        { name: string; ratio: number }[]
      >;
    const TEXT =
      'h1, h2, #session-note, label, legend, .hint, select, #export-button, #history-refresh, th, td, .row-error, #history-rows button';
    const FOCUSABLE = [
      '#dataset',
      '#filename',
      '#column-1',
      '#background',
      '#history-refresh',
      '#export-button',
    ];
    const low: Record<string, string[]> = { light: [], dark: [] };
    for (const colorScheme of ['light', 'dark'] as const) {
      await page.emulateMedia({ colorScheme });
      const check = async (selector: string, what: string, min: number) => {
        const found = await measure(selector, what);
        expect(found.length, `${selector} (${what})`).toBeGreaterThan(0);
        if (process.env.SHOW_CONTRAST) console.log(colorScheme, what, JSON.stringify(found));
        for (const { name, ratio } of found)
          if (ratio < min) low[colorScheme]?.push(`${name} ${what} ${ratio}:1`);
      };
      await check(TEXT, 'text', 4.5);
      await check('#filename', 'placeholder', 4.5);
      await check('input:not([type=checkbox]), select', 'border', 3);
      await page.keyboard.press('Tab'); // the keyboard's focus ring, not the mouse's
      for (const selector of FOCUSABLE) {
        await page.locator(selector).focus();
        await check(selector, 'ring', 3);
      }
      // Busy: Export pressed, its request under way; it keeps the focus.
      await page.keyboard.press('Enter');
      await expect.poll(() => page.locator('#export-button').getAttribute('aria-disabled')).toBe('true');
      await check('#export-button', 'text', 4.5);
      await check('#export-button', 'ring', 3);
    }
    expect(low).toEqual({ light: [], dark: [] });
    release();
    await expect.poll(() => page.locator('#export-button').getAttribute('aria-disabled')).toBeNull();
    expect(errors.filter((e) => !/ERR_FAILED/.test(e))).toEqual([]);
    await close();
  });

  it('keeps "My exports" readable, without sideways scrolling, from 320 to 1280 px', async () => {
    const { page, errors, close } = await open();
    await listFixture(page);
    await page.getByRole('button', { name: 'Refresh' }).click();
    const file = page.locator('#history-rows tr[data-id="exp_readyAAAAAAAAAAAAAAAAA"] td[data-label="File"]');
    await file.waitFor();
    for (const width of [320, 375, 641, 700, 800, 960, 1024, 1280]) {
      await page.setViewportSize({ width, height: 900 });
      expect(await page.evaluate(SIDEWAYS), `${width} px`).toBeLessThanOrEqual(0);
      // The File column at least 6rem wide, the name in it on screen.
      expect(await page.evaluate(FILE_CELL), `${width} px`).toEqual({ wide: true, visible: true });
    }
    expect(errors).toEqual([]);
    await close();
  });

  it('keeps "My exports" a table on a 375 px phone: each cell read once, by its value, its label still shown', async () => {
    const { page, errors, close } = await open({ viewport: { width: 375, height: 812 } });
    await listFixture(page);
    await page.getByRole('button', { name: 'Refresh' }).click();
    const id = 'exp_readyAAAAAAAAAAAAAAAAA';
    await page.locator(`#history-rows tr[data-id="${id}"]`).waitFor();
    // The cards, not the table's layout.
    expect(await page.evaluate(`getComputedStyle(document.getElementById('history-table')).display`)).toBe(
      'block',
    );
    // On screen, each value has its label beside it.
    const labels = (await page.evaluate(shownLabels(id))) as {
      label: string;
      content: string;
      shown: boolean;
    }[];
    expect(labels.map(({ label, shown }) => ({ label, shown }))).toEqual(
      ['File', 'Status', 'Format', 'Rows', 'Size', 'Created', 'Expires'].map((label) => ({
        label,
        shown: true,
      })),
    );
    for (const { content } of labels) expect(content).not.toMatch(/^(none|normal)$/);
    // For screen readers, still a table: the column headers, and each export a row of cells...
    const snapshot = await page.locator('#history table').ariaSnapshot();
    for (const header of ['File', 'Status', 'Format', 'Rows', 'Size', 'Created', 'Expires', 'Actions']) {
      expect(snapshot).toContain(`- columnheader "${header}"`);
    }
    // ...each read once, by its value: the label is the column header's, not read again.
    const values = (await page.evaluate(
      `[...document.querySelectorAll('#history-rows tr[data-id="${id}"] td')].map((td) => td.textContent)`,
    )) as string[];
    const row = await rowForScreenReaders(page, id);
    expect(row.role).toBe('row');
    expect(row.cells.slice(0, 7)).toEqual(
      values.slice(0, 7).map((value) => ({ role: 'cell', name: value, texts: [value] })),
    );
    expect(row.cells.map(({ role }) => role)).toEqual(Array(8).fill('cell'));
    expect(row.cells[7]?.name).toBe('Download orders.csv Delete orders.csv');
    expect(snapshot).toContain('- cell "orders.csv"');
    expect(snapshot).not.toMatch(/cell "(File|Status|Format|Rows|Size|Created|Expires) /);
    // Kept by explicit roles, which a browser that drops a table's semantics with display: block
    // (Safari) still honours.
    expect(
      await page.evaluate(
        `[...document.querySelectorAll('#history-table, #history-table :is(thead, tbody, tr, th, td)')].map((el) => el.getAttribute('role')).filter((role, i, all) => all.indexOf(role) === i)`,
      ),
    ).toEqual(['table', 'rowgroup', 'row', 'columnheader', 'cell']);
    expect(errors).toEqual([]);
    await close();
  });

  it('fits a 320 and a 375 px phone without sideways scrolling, also with text at 200 %', async () => {
    const { page, errors, close } = await open();
    await listFixture(page);
    await page.getByRole('button', { name: 'Refresh' }).click();
    await page.locator('#history-rows tr').first().waitFor();
    for (const size of ['100%', '200%']) {
      // The root's font size, as a browser's text size setting makes it.
      await page.evaluate(`document.documentElement.style.fontSize = ${JSON.stringify(size)}`);
      for (const width of [320, 375]) {
        await page.setViewportSize({ width, height: 812 });
        expect(await page.evaluate(SIDEWAYS), `${width} px, text at ${size}`).toBeLessThanOrEqual(0);
      }
    }
    expect(errors).toEqual([]);
    await close();
  });

  it('shows why an export failed as text in the list, not only in a tooltip', async () => {
    const { page, errors, close } = await open();
    await listFixture(page);
    await page.getByRole('button', { name: 'Refresh' }).click();
    const row = page.locator('#history-rows tr[data-id="exp_failedAAAAAAAAAAAAAAAA"]');
    const reason = row.getByText(FAILURE);
    await reason.waitFor();
    expect(await reason.isVisible()).toBe(true);
    expect(await row.textContent()).toMatch(/source_query_error/);
    expect(await row.locator('[title]').count()).toBe(0);
    // On a phone too, within its card.
    await page.setViewportSize({ width: 375, height: 812 });
    expect(await reason.isVisible()).toBe(true);
    expect(await page.evaluate('document.documentElement.scrollWidth')).toBeLessThanOrEqual(375);
    expect(errors).toEqual([]);
    await close();
  });
});
