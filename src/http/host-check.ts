import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TakeoutError } from '../errors.js';

/** Names of this machine's loopback interface as a browser writes them in `Host`. */
const LOOPBACK_NAMES = ['127.0.0.1', 'localhost', '[::1]'];

/** The decorator of an instance that answers loopback names only. */
export const LOOPBACK_HOSTS_ONLY = 'takeoutLoopbackHostsOnly';

/** Whether `host` names the loopback interface on `port` (the port may be left out for 80). */
export function isLoopbackHost(host: string | undefined, port: number | undefined): boolean {
  if (!host) return false;
  const h = host.toLowerCase();
  for (const name of LOOPBACK_NAMES) {
    if (port === undefined ? h === name || h.startsWith(`${name}:`) : h === `${name}:${port}`) return true;
    if (port === 80 && h === name) return true;
  }
  return false;
}

/** The port the client connected to (undefined for injected requests, which have no socket). */
function localPort(request: FastifyRequest): number | undefined {
  const port = request.socket?.localPort;
  return typeof port === 'number' && port > 0 ? port : undefined;
}

/**
 * Refuses every request whose `Host` is not a loopback name with the port it came in on. The
 * anonymous development mode needs it: without authentication, a web page the developer opens
 * could otherwise point a name it controls at 127.0.0.1 (DNS rebinding) and read the API with
 * the browser's help. A loopback name cannot be made to point anywhere else.
 */
export function requireLoopbackHost(app: FastifyInstance): void {
  // The OpenAPI document lists the 403 on every route when the instance checks hosts.
  if (!app.hasDecorator(LOOPBACK_HOSTS_ONLY)) app.decorate(LOOPBACK_HOSTS_ONLY, true);
  app.addHook('onRequest', async (request) => {
    if (isLoopbackHost(request.headers.host, localPort(request))) return;
    throw new TakeoutError(
      'host_not_allowed',
      'Without authentication Takeout answers only requests for 127.0.0.1, localhost or [::1] with its port; configure authentication to serve other names',
    );
  });
}
