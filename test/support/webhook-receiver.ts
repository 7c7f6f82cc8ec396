/**
 * A webhook receiver on loopback (node:http) for tests. It keeps every delivery with its
 * headers, raw body and the status it answered, and checks each signature with the
 * `standardwebhooks` package (the reference implementation, not ours).
 */
import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Webhook } from 'standardwebhooks';

export interface ReceivedDelivery {
  path: string;
  headers: IncomingHttpHeaders;
  body: string;
  /** The parsed body. */
  event: { type: string; timestamp: string; data: Record<string, unknown> & { id: string; url: string } };
  /** Whether `standardwebhooks` accepted the signature. */
  verified: boolean;
  /** What the receiver answered; 0 when it never answered (held). */
  status: number;
}

export interface WebhookReceiver {
  /** `http://127.0.0.1:port` */
  origin: string;
  /** `127.0.0.1:port`, for TAKEOUT_WEBHOOK_ALLOW. */
  host: string;
  deliveries: ReceivedDelivery[];
  /** Decides the answer to each request (default 204); `null` holds it unanswered until the sender goes. */
  answer: (delivery: Omit<ReceivedDelivery, 'status'>, index: number) => number | null;
  /** Deliveries to `path` whose event is about `exportId`. */
  of(exportId: string, path?: string): ReceivedDelivery[];
  /** Requests held unanswered whose senders are still connected. */
  held(): number;
  close(): Promise<void>;
}

/**
 * `secret`: what every delivery is verified with, or the secret for each path (a receiver
 * standing for both an owner's webhook and the service-wide one: their secrets differ).
 */
export async function startWebhookReceiver(
  secret: string | ((path: string) => string),
): Promise<WebhookReceiver> {
  const verifierOf = (path: string) => new Webhook(typeof secret === 'string' ? secret : secret(path));
  const deliveries: ReceivedDelivery[] = [];
  let heldOpen = 0;
  let server: Server;
  const receiver: WebhookReceiver = {
    origin: '',
    host: '',
    deliveries,
    answer: () => 204,
    of: (exportId, path) =>
      deliveries.filter((d) => d.event.data.id === exportId && (path === undefined || d.path === path)),
    held: () => heldOpen,
    close: () =>
      new Promise((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
  server = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const body = Buffer.concat(chunks).toString('utf8');
      let verified = false;
      try {
        verifierOf(request.url ?? '/').verify(body, request.headers as Record<string, string>);
        verified = true;
      } catch {}
      const received = {
        path: request.url ?? '/',
        headers: request.headers,
        body,
        event: JSON.parse(body) as ReceivedDelivery['event'],
        verified,
      };
      const status = receiver.answer(received, deliveries.length);
      deliveries.push({ ...received, status: status ?? 0 });
      if (status === null) {
        // Held until the sender gives up (its timeout, or its close).
        heldOpen++;
        request.socket.once('close', () => heldOpen--);
        return;
      }
      if (status >= 300 && status < 400) response.setHeader('location', `${receiver.origin}/elsewhere`);
      response.writeHead(status).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  receiver.origin = `http://127.0.0.1:${port}`;
  receiver.host = `127.0.0.1:${port}`;
  return receiver;
}
