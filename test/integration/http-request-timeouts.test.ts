/**
 * The per-connection request timeouts (src/http/request-timeouts.ts) on a real server: they
 * cut a request still being sent, never a response that streams longer than the timeout.
 */
import { createServer, request as httpRequest, type Server } from 'node:http';
import net from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { guardRequestTimeouts } from '../../src/http/request-timeouts.js';

const REQUEST_MS = 400;
let server: Server | undefined;
afterEach(async () => {
  server?.closeAllConnections();
  await new Promise((resolve) => server?.close(resolve));
});

/** A server whose GET /slow streams `parts` lines, one every 150 ms, and whose POST echoes the body length. */
async function start(parts: number): Promise<number> {
  server = createServer((req, res) => {
    if (req.method === 'POST') {
      let size = 0;
      req.on('data', (chunk: Buffer) => {
        size += chunk.length;
      });
      req.on('end', () => res.end(String(size)));
      return;
    }
    let sent = 0;
    const timer = setInterval(() => {
      res.write(`line ${++sent}\n`);
      if (sent === parts) {
        clearInterval(timer);
        res.end();
      }
    }, 150);
    res.on('close', () => clearInterval(timer));
  });
  guardRequestTimeouts(server, {
    headersTimeoutMs: 300,
    requestTimeoutMs: REQUEST_MS,
    keepAliveTimeoutMs: 5000,
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  return typeof address === 'object' && address ? address.port : 0;
}

function get(port: number, path: string): Promise<{ status: number; body: string; error?: string }> {
  return new Promise((resolve) => {
    const req = httpRequest({ host: '127.0.0.1', port, path }, (res) => {
      let body = '';
      res.setEncoding('utf8');
      res.on('data', (chunk: string) => {
        body += chunk;
      });
      res.on('end', () => resolve({ status: res.statusCode ?? 0, body }));
      res.on('error', (error) => resolve({ status: res.statusCode ?? 0, body, error: error.message }));
    });
    req.on('error', (error) => resolve({ status: 0, body: '', error: error.message }));
    req.end();
  });
}

describe('request timeouts', () => {
  it('never cut a response that streams longer than the request timeout (a GET has no body to wait for)', async () => {
    const port = await start(10); // 1.5 s of streaming, the timeout is 0.4 s
    const answer = await get(port, '/slow');
    expect(answer.error).toBeUndefined();
    expect(answer.status).toBe(200);
    expect(answer.body.trim().split('\n')).toHaveLength(10);
  });

  it('still cut a body that never finishes', async () => {
    const port = await start(1);
    const started = Date.now();
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.on('error', () => {});
    socket.write('POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n{"part');
    await new Promise((resolve) => socket.once('close', resolve));
    expect(Date.now() - started).toBeLessThan(REQUEST_MS + 3000);
    expect(Date.now() - started).toBeGreaterThanOrEqual(REQUEST_MS - 50);
  });
});
