import type { IncomingMessage, Server, ServerResponse } from 'node:http';

/**
 * Sends `100 Continue` to a request with `Expect: 100-continue` only when its body is about
 * to be read. Node sends it as soon as the headers arrive, before any route runs: a client
 * without credentials would upload its whole body (inline rows, up to the body limit) only to
 * be told 401. With this, everything that answers before the body is read (unknown route or
 * method, the Host check, authentication, the rate limit, the large-body slots, a
 * `Content-Length` past the body limit) sends its final status instead, and the body is never
 * asked for (RFC 9110 §10.1.1). Node then closes the connection after that answer, so the
 * unsent body is never taken for the next request.
 *
 * With a 'checkContinue' listener Node no longer answers the expectation itself; the request
 * is handed on as 'request', exactly as Node would have after writing `100 Continue`.
 */
export function continueWhenBodyIsRead(server: Server): void {
  server.on('checkContinue', (request: IncomingMessage, response: ServerResponse) => {
    let pending = true;
    const sendContinue = () => {
      if (!pending) return;
      pending = false;
      request.off('resume', sendContinue);
      request.off('newListener', onListener);
      // After a final answer it is too late: Node resumes an unread body to discard it.
      if (!response.headersSent && !response.writableEnded && !request.socket.destroyed) {
        response.writeContinue();
      }
    };
    // Reading starts with a 'data' or 'readable' listener, or resume() (pipe() does both).
    const onListener = (event: string | symbol) => {
      if (event === 'data' || event === 'readable') sendContinue();
    };
    request.once('resume', sendContinue);
    request.on('newListener', onListener);
    server.emit('request', request, response);
  });
}
