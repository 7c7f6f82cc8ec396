import net from 'node:net';
import pg from 'pg';
import { mapPostgresError } from './postgres-errors.js';
import { PG_KEEPALIVE } from './postgres-keepalive.js';

/**
 * One PostgreSQL connection for one export: from the caller's pool, or a client of its own
 * opened from a connection string. `release(discard)` returns it to the pool or ends it;
 * a discarded connection (one that failed, was cancelled or is mid-COPY) never goes back
 * to a pool, so no later user can see its state or a late cancel request.
 */
export interface PgConnection {
  client: pg.ClientBase;
  release(discard: boolean): Promise<void>;
  /** Asks the server to cancel what this connection is running (a CancelRequest). */
  cancel(): Promise<void>;
  /**
   * Cuts the connection's socket: what it runs fails at once. For a connection already to be
   * discarded whose server does not answer a cancel (gone silent: a failover, a dropped flow).
   */
  sever(): void;
}

export interface ConnectOptions {
  connectionString?: string | undefined;
  pool?: pg.Pool | undefined;
  connectTimeoutMs: number;
  applicationName: string;
}

const END_TIMEOUT_MS = 2000;

/** How long a cancelled read may take to fail before it is failed here (a server gone silent). */
export const CANCEL_ANSWER_MS = 5000;

export async function openConnection(options: ConnectOptions): Promise<PgConnection> {
  if (options.pool) {
    let client: pg.PoolClient;
    try {
      client = await options.pool.connect();
    } catch (error) {
      throw mapPostgresError(error, 'connect');
    }
    // pg-pool takes its own error listener off a client it lends out, and a connection that
    // drops mid-export (a server restart, pg_terminate_backend) emits 'error' after failing the
    // query in flight: unheard, that would end the process. The query's rejection reports it.
    const ignoreError = () => {};
    client.on('error', ignoreError);
    let released = false;
    return {
      client,
      cancel: () => sendCancel(client),
      sever: () => socketOf(client)?.destroy(),
      async release(discard) {
        if (released) return;
        released = true;
        if (!discard) {
          client.off('error', ignoreError);
          client.release();
          return;
        }
        // The pool ends a discarded client without waiting: wait for its socket to close, so
        // the backend (maybe mid-COPY) is gone or going when the export's close() returns
        // (not when it has already ended: cut, or dropped by the server).
        const gone = (client as unknown as { _ended?: boolean })._ended === true;
        const ended = gone ? Promise.resolve() : new Promise<void>((resolve) => client.once('end', resolve));
        client.release(new Error('takeout: connection discarded'));
        let timer: NodeJS.Timeout | undefined;
        await Promise.race([
          ended,
          new Promise<void>((resolve) => (timer = setTimeout(resolve, END_TIMEOUT_MS))),
        ]);
        clearTimeout(timer);
      },
    };
  }
  const client = new pg.Client({
    connectionString: options.connectionString,
    connectionTimeoutMillis: options.connectTimeoutMs,
    application_name: options.applicationName,
    ...PG_KEEPALIVE,
  });
  // Errors of an idle client (e.g. the server restarts) must not crash the process; a
  // query in flight rejects with them anyway.
  client.on('error', () => {});
  try {
    await client.connect();
  } catch (error) {
    await endClient(client);
    throw mapPostgresError(error, 'connect');
  }
  let released = false;
  return {
    client,
    cancel: () => sendCancel(client),
    sever: () => socketOf(client)?.destroy(),
    async release() {
      if (released) return;
      released = true;
      await endClient(client);
    },
  };
}

function socketOf(client: pg.ClientBase): net.Socket | undefined {
  return (client as unknown as { connection?: { stream?: net.Socket } }).connection?.stream;
}

/** Ends a client, destroying its socket if a graceful end does not finish in time. */
async function endClient(client: pg.Client): Promise<void> {
  const socket = socketOf(client);
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    client.end().catch(() => {}),
    new Promise<void>((resolve) => {
      timer = setTimeout(() => {
        socket?.destroy();
        resolve();
      }, END_TIMEOUT_MS);
    }),
  ]);
  clearTimeout(timer);
}

interface BackendKey {
  processID?: number | null;
  secretKey?: number | null;
  connectionParameters?: { host?: string; port?: number };
}

/**
 * Sends PostgreSQL's CancelRequest (a 16-byte packet on a new socket, no authentication)
 * for the backend behind `client`. Best effort: failures are ignored.
 */
export function sendCancel(client: pg.ClientBase): Promise<void> {
  const { processID, secretKey, connectionParameters } = client as unknown as BackendKey;
  if (processID == null || secretKey == null) return Promise.resolve();
  const host = connectionParameters?.host ?? 'localhost';
  const port = connectionParameters?.port ?? 5432;
  const packet = Buffer.alloc(16);
  packet.writeInt32BE(16, 0);
  packet.writeInt32BE(80877102, 4); // the CancelRequest code
  packet.writeInt32BE(processID, 8);
  packet.writeInt32BE(secretKey, 12);
  return new Promise((resolve) => {
    const socket = host.startsWith('/')
      ? net.connect({ path: `${host}/.s.PGSQL.${port}` })
      : net.connect({ host, port });
    const done = () => {
      socket.destroy();
      resolve();
    };
    socket.setTimeout(END_TIMEOUT_MS, done);
    socket.once('error', done);
    socket.once('close', done);
    // The server closes the socket once it has read the request.
    socket.once('connect', () => socket.end(packet));
  });
}
