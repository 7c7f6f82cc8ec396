import type { IncomingMessage, Server, ServerResponse } from 'node:http';
import type { Socket } from 'node:net';

export interface RequestTimeoutOptions {
  /** Time to send a request's headers, ms. */
  headersTimeoutMs: number;
  /** Time to send the whole request, body included, ms (counted from its headers). */
  requestTimeoutMs: number;
  /** How long an idle keep-alive connection may wait for its next request, ms. */
  keepAliveTimeoutMs: number;
}

/**
 * Cuts connections whose client is too slow to send a request: its headers within
 * `headersTimeoutMs` (after a keep-alive pause of up to `keepAliveTimeoutMs`), its body
 * within `requestTimeoutMs`. Node's own `headersTimeout`/`requestTimeout` checks are set
 * too, but on Node 20 they missed some of several slow connections open at once, so each
 * connection gets a timer of its own here. Responses are not timed: a sync export's
 * response has its own idle-write timeout.
 */
export function guardRequestTimeouts(server: Server, options: RequestTimeoutOptions): void {
  const timers = new WeakMap<Socket, NodeJS.Timeout>();
  /** Cuts the connection in `ms`, unless `sent` says by then that the request came in whole. */
  const arm = (socket: Socket, ms: number, sent?: () => boolean) => {
    clearTimeout(timers.get(socket));
    timers.set(
      socket,
      setTimeout(() => {
        if (!sent?.()) socket.destroy();
      }, ms),
    );
  };
  const disarm = (socket: Socket) => clearTimeout(timers.get(socket));

  server.on('connection', (socket: Socket) => {
    arm(socket, options.headersTimeoutMs);
    socket.once('close', () => disarm(socket));
  });
  server.on('request', (request: IncomingMessage, response: ServerResponse) => {
    const { socket } = request;
    if (request.complete) disarm(socket);
    else {
      // 'end' only comes when the body is read, and nobody reads a GET's: a request that came
      // in whole (`complete`) is never cut, however long its response streams (downloads,
      // progress events).
      arm(socket, options.requestTimeoutMs, () => request.complete);
      request.once('end', () => disarm(socket));
    }
    response.once('finish', () => {
      if (!socket.destroyed) arm(socket, options.keepAliveTimeoutMs + options.headersTimeoutMs);
    });
  });
}
