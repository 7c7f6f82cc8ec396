import type { FastifyInstance, FastifyRequest } from 'fastify';
import { TakeoutError } from '../errors.js';

/**
 * Names of this machine's loopback interface as a browser writes them in `Host`: any address
 * of 127.0.0.0/8 (what `takeout serve` may listen on), `localhost` and `[::1]`.
 */
const LOOPBACK_NAME = /^(?:127(?:\.(?:25[0-5]|2[0-4]\d|1?\d?\d)){3}|localhost|\[::1\])(?::(\d{1,5}))?$/;

/** The decorator of an instance that answers loopback names only. */
export const LOOPBACK_HOSTS_ONLY = 'takeoutLoopbackHostsOnly';

/** Whether `host` names the loopback interface on `port` (the port may be left out for 80). */
export function isLoopbackHost(host: string | undefined, port: number | undefined): boolean {
  const match = host ? LOOPBACK_NAME.exec(host.toLowerCase()) : null;
  if (!match) return false;
  const given = match[1];
  if (port === undefined) return true;
  return given === undefined ? port === 80 : Number(given) === port;
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
      'Without authentication Takeout answers only requests for a 127.x.x.x address, localhost or [::1] with its port; configure authentication to serve other names',
    );
  });
}
