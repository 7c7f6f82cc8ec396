/**
 * What a client gets when Node's HTTP parser refuses its request before Fastify sees it (a bad
 * Content-Length, raw bytes in the URL, headers past 16 KiB, a request too slow to arrive): a
 * problem document like every other answer, instead of Fastify's own JSON. The connection is
 * closed after it: what follows on it cannot be trusted.
 */
import { STATUS_CODES } from 'node:http';
import type { Socket } from 'node:net';
import { TakeoutError } from '../errors.js';
import { problemOf } from './problem.js';

function refusal(code: string | undefined): TakeoutError {
  if (code === 'HPE_HEADER_OVERFLOW') {
    return new TakeoutError('headers_too_large', 'The request line and headers pass 16 KiB');
  }
  if (code === 'ERR_HTTP_REQUEST_TIMEOUT') {
    return new TakeoutError('request_timeout', 'The request did not arrive in time');
  }
  return new TakeoutError('invalid_request', 'The request is not valid HTTP/1.1');
}

export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === 'ECONNRESET' || socket.destroyed) return; // gone already
  // An answer already under way on the connection: another would corrupt it.
  const current = (socket as { _httpMessage?: { headersSent?: boolean } })._httpMessage;
  if (!socket.writable || current?.headersSent) {
    socket.destroy();
    return;
  }
  const problem = refusal(error.code);
  const body = JSON.stringify(problemOf(problem));
  // Written and closed at once, as Node and Fastify do: a small write leaves before the close.
  socket.write(
    `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\n` +
      'Content-Type: application/problem+json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Cache-Control: no-store\r\n' +
      'X-Content-Type-Options: nosniff\r\n' +
      'Connection: close\r\n\r\n' +
      body,
  );
  socket.destroy();
}
