/**
 * `Expect: 100-continue` over raw TCP: the standalone server sends `100 Continue` only once a
 * route reads the body, so a request refused before that (no token, unknown route or method,
 * a declared length past the body limit) gets its final status at once and its body is never
 * sent; an authenticated one gets `100 Continue`, sends its body and gets its file.
 */
import { connect } from 'node:net';
import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defineDataset } from '../../src/datasets/define.js';
import { DatasetRegistry } from '../../src/datasets/registry.js';
import { bearerTokens } from '../../src/http/auth.js';
import { buildServer } from '../../src/http/server.js';
import { rowsSource } from '../../src/sources/rows.js';
import { parseRawResponse } from '../support/serve-process.js';

const TOKEN = 'continue-token-0123456789';
const BODY_LIMIT = 1024 * 1024;

interface Exchange {
  /** Everything the server sent, as text. */
  received: string;
  /** Whether the body was written (only after a `100 Continue`). */
  bodySent: boolean;
  /** Whether the server closed the connection. */
  closed: boolean;
}

/**
 * Sends the request's headers with `Expect: 100-continue`, and its body only once the server
 * says `100 Continue`; waits for a final answer, then up to `settleMs` for the server to close.
 */
function exchange(port: number, head: string[], body: string, settleMs = 1000): Promise<Exchange> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1');
    const result: Exchange = { received: '', bodySent: false, closed: false };
    const timer = setTimeout(() => {
      socket.destroy();
      resolve(result);
    }, 10_000);
    const finish = () => {
      clearTimeout(timer);
      socket.destroy();
      resolve(result);
    };
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => {
      result.received += chunk;
      if (!result.bodySent && /^HTTP\/1\.1 100 Continue\r\n\r\n/.test(result.received)) {
        result.bodySent = true;
        socket.write(body);
      }
      if (answered(finalAnswer(result.received))) setTimeout(finish, settleMs);
    });
    socket.on('end', () => {
      result.closed = true;
      finish();
    });
    socket.on('error', reject);
    socket.write(`${[...head, 'Expect: 100-continue', '', ''].join('\r\n')}`);
  });
}

/** What follows a `100 Continue`, if one came. */
function finalAnswer(received: string): string {
  return received.replace(/^HTTP\/1\.1 100 Continue\r\n\r\n/, '');
}

/** Whether `text` holds a whole response (by its Content-Length, or chunked to its end). */
function answered(text: string): boolean {
  const start = text.indexOf('\r\n\r\n');
  if (!text.startsWith('HTTP/1.1') || start < 0) return false;
  const length = /\r\ncontent-length: (\d+)/i.exec(text.slice(0, start));
  if (length) return text.length - start - 4 >= Number(length[1]);
  return text.endsWith('\r\n0\r\n\r\n');
}

function post(path: string, body: string, extra: string[] = [], method = 'POST'): string[] {
  return [
    `${method} ${path} HTTP/1.1`,
    'Host: 127.0.0.1',
    'Content-Type: application/json',
    `Content-Length: ${Buffer.byteLength(body)}`,
    ...extra,
  ];
}

/** Inline rows just under the body limit: what an upload that is refused should not send. */
const bigBody = JSON.stringify({
  format: 'csv',
  rows: Array.from({ length: 20_000 }, (_, i) => ({ i, pad: 'x'.repeat(20) })),
});

describe('Expect: 100-continue', () => {
  let app: FastifyInstance;
  let port: number;

  beforeAll(async () => {
    app = await buildServer({
      datasets: new DatasetRegistry([defineDataset({ name: 'tiny', source: () => rowsSource([{ a: 1 }]) })]),
      authenticate: bearerTokens(new Map([[TOKEN, { id: 'alice' }]])),
      bodyLimit: BODY_LIMIT,
    });
    await app.listen({ host: '127.0.0.1', port: 0 });
    const address = app.server.address();
    port = typeof address === 'object' && address ? address.port : 0;
  });
  afterAll(() => app.close());

  it('answers 401 without a token before asking for the body, and closes', async () => {
    expect(Buffer.byteLength(bigBody)).toBeGreaterThan(BODY_LIMIT / 2);
    expect(Buffer.byteLength(bigBody)).toBeLessThan(BODY_LIMIT);
    for (const extra of [[], ['Authorization: Bearer wrong-token-0123456789']]) {
      const result = await exchange(port, post('/v1/exports', bigBody, extra), bigBody);
      expect(result.received).not.toContain('100 Continue');
      expect(result.received).toMatch(/^HTTP\/1\.1 401 /);
      // A token sent and refused is an invalid one (RFC 6750); none at all, plain Bearer.
      const challenge = extra.length > 0 ? 'Bearer error="invalid_token"' : 'Bearer';
      expect(result.received).toContain(`\r\nwww-authenticate: ${challenge}\r\n`);
      expect(result.received).toContain('"code":"unauthorized"');
      expect(result.bodySent).toBe(false);
      // The body it declared never came: the connection cannot carry another request.
      expect(result.received).toMatch(/\r\nconnection: close\r\n/i);
      expect(result.closed).toBe(true);
    }
  });

  it('answers 404, 405 and 413 before asking for the body', async () => {
    const auth = [`Authorization: Bearer ${TOKEN}`];
    const cases: [string[], RegExp, string][] = [
      [post('/v1/nothing', bigBody, auth), /^HTTP\/1\.1 404 /, 'not_found'],
      [
        post('/v1/datasets', bigBody, auth, 'PUT'),
        /^HTTP\/1\.1 405 [\s\S]*\r\nallow: GET, HEAD\r\n/i,
        'method_not_allowed',
      ],
      [
        ['POST /v1/exports HTTP/1.1', 'Host: 127.0.0.1', 'Content-Type: application/json', ...auth].concat(
          `Content-Length: ${BODY_LIMIT + 1}`,
        ),
        /^HTTP\/1\.1 413 /,
        'body_too_large',
      ],
    ];
    for (const [head, status, code] of cases) {
      const result = await exchange(port, head, bigBody);
      expect(result.received, head[0]).not.toContain('100 Continue');
      expect(result.received, head[0]).toMatch(status);
      expect(result.received).toContain(`"code":"${code}"`);
      expect(result.bodySent).toBe(false);
      expect(result.closed).toBe(true);
    }
  });

  it('sends 100 Continue to an authenticated request, then exports its body', async () => {
    const result = await exchange(
      port,
      post('/v1/exports', bigBody, [`Authorization: Bearer ${TOKEN}`]),
      bigBody,
      // A moment after the answer, for a close to show.
      200,
    );
    expect(result.bodySent).toBe(true);
    expect(result.received).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    const csv = parseRawResponse(Buffer.from(finalAnswer(result.received), 'latin1')).body.toString();
    const lines = csv.trim().split('\r\n');
    expect(lines[0]).toBe('i,pad');
    expect(lines).toHaveLength(20_001);
    expect(lines.at(-1)).toBe(`19999,${'x'.repeat(20)}`);
    expect(result.closed).toBe(false);
  });

  it('sends 100 Continue to a dataset export too, and keeps the connection', async () => {
    const body = JSON.stringify({ dataset: 'tiny', format: 'csv' });
    const result = await exchange(
      port,
      post('/v1/exports', body, [`Authorization: Bearer ${TOKEN}`]),
      body,
      200,
    );
    expect(result.received).toMatch(/^HTTP\/1\.1 100 Continue\r\n\r\nHTTP\/1\.1 200 OK\r\n/);
    expect(result.received).toMatch(/\r\n\r\na\r\n1\r\n$/);
    expect(result.closed).toBe(false);
  });
});
