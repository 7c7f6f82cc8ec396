/**
 * Email delivery against a real SMTP server on loopback (`smtp-server`), through the real job
 * store and real dispatchers: a server that answers each step just in time gets one copy
 * (the send has an overall deadline inside the claim, so no second dispatcher sends it again),
 * a 550 to RCPT fails the delivery at once, an address whose domain the operator took off
 * TAKEOUT_MAIL_ALLOW is not mailed, and the Message-ID is `<delivery id@public host>`.
 */
import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import { createServer, type Server, type Socket, connect as tcpConnect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { SMTPServer } from 'smtp-server';
import { afterEach, describe, expect, it } from 'vitest';
import { eventuallyValue } from '../support/eventually.js';
import { alice, numbersDataset, type TestService, testService } from '../support/jobs.js';
import { testDispatcher } from '../support/notify-dispatcher.js';

const PUBLIC_URL = 'https://exports.example.com';

interface Smtp {
  port: number;
  messages: { to: string[]; raw: string }[];
  close(): Promise<void>;
}

/** A real SMTP server; `rcptCode` refuses RCPT TO with that reply code, `mailFromCode` MAIL FROM. */
async function startSmtp(
  rcptCode?: number,
  mailFromCode?: number,
  rcptText = 'Mailbox unavailable',
): Promise<Smtp> {
  const messages: Smtp['messages'] = [];
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onMailFrom(_address, _session, callback) {
      if (mailFromCode === undefined) return callback();
      callback(Object.assign(new Error('Sender address rejected'), { responseCode: mailFromCode }));
    },
    onRcptTo(_address, _session, callback) {
      if (rcptCode === undefined) return callback();
      callback(Object.assign(new Error(rcptText), { responseCode: rcptCode }));
    },
    onData(stream, session, callback) {
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('end', () => {
        messages.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: Buffer.concat(chunks).toString('utf8'),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.server.address() as AddressInfo;
  return { port, messages, close: () => new Promise((resolve) => server.close(() => resolve())) };
}

/**
 * A TCP proxy in front of the SMTP server whose first connection is slow: after the greeting,
 * each of the server's replies reaches the client in 5 slices 700 ms apart (never 1.2 s
 * without a byte: no step timeout fires), 3.5 s a reply. Later connections pass straight.
 */
async function startSlowProxy(port: number): Promise<{ port: number; close(): Promise<void> }> {
  let connections = 0;
  const sockets = new Set<Socket>();
  const server: Server = createServer((client) => {
    const slow = connections++ === 0;
    const upstream = tcpConnect(port, '127.0.0.1');
    for (const socket of [client, upstream]) {
      sockets.add(socket);
      socket.on('error', () => {});
      socket.on('close', () => sockets.delete(socket));
    }
    client.on('close', () => upstream.destroy());
    upstream.on('close', () => client.end());
    client.pipe(upstream);
    if (!slow) return void upstream.pipe(client);
    let greeted = false;
    let pending = Buffer.alloc(0);
    let dripping = false;
    const drip = async () => {
      dripping = true;
      for (let slices = 5; slices > 0 && pending.length > 0; slices--) {
        await sleep(700);
        if (client.destroyed) return;
        const n = Math.ceil(pending.length / slices);
        client.write(pending.subarray(0, n));
        pending = pending.subarray(n);
      }
      dripping = false;
      if (pending.length > 0) void drip();
    };
    upstream.on('data', (chunk: Buffer) => {
      if (!greeted) {
        greeted = true;
        return void client.write(chunk);
      }
      pending = Buffer.concat([pending, chunk]);
      if (!dripping) void drip();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}

describe('email delivery (real SMTP server, SQLite job store)', () => {
  const cleanups: (() => Promise<void>)[] = [];
  afterEach(async () => {
    for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
  });

  const env = (smtpPort: number, extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv => ({
    SMTP_URL: `smtp://127.0.0.1:${smtpPort}`,
    TAKEOUT_MAIL_FROM: 'Takeout <takeout@example.com>',
    TAKEOUT_MAIL_ALLOW: 'example.com',
    TAKEOUT_PUBLIC_URL: PUBLIC_URL,
    TAKEOUT_WEBHOOK_SECRET: `whsec_${randomBytes(32).toString('base64')}`,
    TAKEOUT_NOTIFY_BACKOFF: '100ms',
    TAKEOUT_NOTIFY_BACKOFF_MAX: '100ms',
    TAKEOUT_NOTIFY_POLL: '50ms',
    ...extra,
  });

  /**
   * A service whose own dispatcher looks once at its start and then not for an hour, and one
   * finished export that emails alice: its delivery waits in the outbox for the test's dispatchers.
   */
  async function exportWithEmail(serviceEnv: NodeJS.ProcessEnv) {
    const t: TestService = await testService(
      { ...serviceEnv, TAKEOUT_NOTIFY_POLL: '1h' },
      { datasets: [numbersDataset('numbers', 10)] },
    );
    cleanups.push(() => t.close());
    await t.service.jobs.startWorker();
    const request = t.request({ dataset: 'numbers', format: 'csv', notify: { email: 'alice@example.com' } });
    const { job } = await t.service.jobs.create(request, alice);
    const done = await t.until(job.id, (j) => j.status === 'succeeded');
    const [delivery] = await t.service.jobs.store.deliveries(job.id);
    expect(delivery).toMatchObject({ channel: 'email', status: 'pending', attempts: 0 });
    return { t, job: done, delivery: delivery! };
  }

  const dispatcher = (t: TestService, dispatcherEnv: NodeJS.ProcessEnv) =>
    testDispatcher(t, dispatcherEnv, cleanups);

  const until = <T>(check: () => T | undefined | Promise<T | undefined>, timeoutMs = 10000) =>
    eventuallyValue(check, timeoutMs, 25);

  it('sends one copy to a server that answers each step just in time, with two dispatchers', async () => {
    const smtp = await startSmtp();
    cleanups.push(() => smtp.close());
    const proxy = await startSlowProxy(smtp.port);
    cleanups.push(() => proxy.close());
    // Each SMTP step may take 1.2 s; a claim lasts 3 × 1.2 + 5 = 8.6 s; the slow session would
    // take 5 replies × 3.5 s, and have its message in after 4 (14 s), long past the claim.
    const e = env(proxy.port, { TAKEOUT_NOTIFY_TIMEOUT: '1.2s' });
    const { t, delivery } = await exportWithEmail(e);
    const started = Date.now();
    dispatcher(t, e).start();
    dispatcher(t, e).start();
    const done = await until(async () => {
      const [d] = await t.service.jobs.store.deliveries(delivery.exportId);
      return d?.status === 'delivered' ? d : undefined;
    }, 20_000);
    // Past the claim's end and the slow session's message (if it had been let run): one copy.
    await sleep(Math.max(0, started + 15_000 - Date.now()));
    expect(smtp.messages).toHaveLength(1);
    expect(smtp.messages[0]!.to).toEqual(['alice@example.com']);
    const [after] = await t.service.jobs.store.deliveries(delivery.exportId);
    expect(after).toMatchObject({ status: 'delivered', attempts: done.attempts });
    const attempts = await t.service.jobs.store.deliveryAttempts(delivery.id);
    // The slow send was cut at its deadline (2 × 1.2 s), well inside the claim, then sent again.
    expect(attempts[0]).toMatchObject({ error: 'No answer within 2400 ms' });
    expect(attempts[0]!.latencyMs).toBeLessThan(4000);
    expect(attempts.at(-1)!.error).toBeUndefined();
  }, 30_000);

  it("fails at once on a 550 to RCPT TO, and keeps retrying a 450, or a 553 to MAIL FROM (the sender is the service's)", async () => {
    const refusing = await startSmtp(550);
    cleanups.push(() => refusing.close());
    const e = env(refusing.port);
    const { t, delivery } = await exportWithEmail(e);
    dispatcher(t, e).start();
    const failed = await until(async () => {
      const [d] = await t.service.jobs.store.deliveries(delivery.exportId);
      return d?.status === 'failed' ? d : undefined;
    });
    expect(failed).toMatchObject({ attempts: 1, lastStatus: 550, lastError: 'SMTP 550' });
    await sleep(400); // no retry comes
    expect(await t.service.jobs.store.deliveryAttempts(delivery.id)).toHaveLength(1);
    expect(refusing.messages).toEqual([]);

    const busy = await startSmtp(450);
    cleanups.push(() => busy.close());
    const e2 = env(busy.port);
    const second = await exportWithEmail(e2);
    dispatcher(second.t, e2).start();
    const retrying = await until(async () => {
      const [d] = await second.t.service.jobs.store.deliveries(second.delivery.exportId);
      return d && d.attempts >= 2 ? d : undefined;
    });
    expect(retrying).toMatchObject({ status: 'pending', lastStatus: 450, lastError: 'SMTP 450' });

    const sender = await startSmtp(undefined, 553);
    cleanups.push(() => sender.close());
    const e3 = env(sender.port);
    const third = await exportWithEmail(e3);
    dispatcher(third.t, e3).start();
    const refusedSender = await until(async () => {
      const [d] = await third.t.service.jobs.store.deliveries(third.delivery.exportId);
      return d && d.attempts >= 2 ? d : undefined;
    });
    expect(refusedSender).toMatchObject({ status: 'pending', lastStatus: 553, lastError: 'SMTP 553' });
  });

  it('fails at once on 5.1.1 (no such user), and retries a relay refusal (5.7.1) and a full mailbox (552)', async () => {
    const outcomes: Record<string, unknown> = {};
    for (const [name, code, text] of [
      ['no such user', 550, '5.1.1 User unknown'],
      ['relay denied', 554, '5.7.1 Relay access denied'],
      ['mailbox full', 552, 'Mailbox full'],
    ] as const) {
      const smtp = await startSmtp(code, undefined, text);
      cleanups.push(() => smtp.close());
      const e = env(smtp.port);
      const { t, delivery } = await exportWithEmail(e);
      dispatcher(t, e).start();
      outcomes[name] = await until(async () => {
        const [d] = await t.service.jobs.store.deliveries(delivery.exportId);
        return d && (d.status === 'failed' || d.attempts >= 2) ? d : undefined;
      });
    }
    expect(outcomes['no such user']).toMatchObject({
      status: 'failed',
      attempts: 1,
      lastError: 'SMTP 550 5.1.1',
    });
    // A relay's own setting, which its operator fixes: retried, the codes said.
    expect(outcomes['relay denied']).toMatchObject({
      status: 'pending',
      lastStatus: 554,
      lastError: 'SMTP 554 5.7.1',
    });
    expect(outcomes['mailbox full']).toMatchObject({
      status: 'pending',
      lastStatus: 552,
      lastError: 'SMTP 552',
    });
  });

  it('mails nobody whose domain was taken off TAKEOUT_MAIL_ALLOW since the export was made', async () => {
    const smtp = await startSmtp();
    cleanups.push(() => smtp.close());
    const { t, delivery } = await exportWithEmail(env(smtp.port));
    dispatcher(t, env(smtp.port, { TAKEOUT_MAIL_ALLOW: 'example.org' })).start();
    const failed = await until(async () => {
      const [d] = await t.service.jobs.store.deliveries(delivery.exportId);
      return d?.status === 'failed' ? d : undefined;
    });
    expect(failed.attempts).toBe(1);
    expect(failed.lastError).toMatch(/^email_not_allowed: /);
    expect(smtp.messages).toEqual([]);
  });

  it('sends no password to a server off loopback that does not offer STARTTLS', async () => {
    const logins: string[] = [];
    const server = new SMTPServer({
      disabledCommands: ['STARTTLS'],
      allowInsecureAuth: true,
      logger: false,
      onAuth(auth, _session, callback) {
        logins.push(`${auth.username}:${auth.password}`);
        callback(null, { user: auth.username });
      },
      onData(stream, _session, callback) {
        stream.resume();
        stream.on('end', () => callback());
      },
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise((resolve) => server.close(() => resolve())));
    const { port } = server.server.address() as AddressInfo;
    // 0.0.0.0 reaches this machine but is not a loopback address: it stands for a remote server.
    const e = { ...env(port), SMTP_URL: `smtp://ada:s3cret@0.0.0.0:${port}` };
    const { t, delivery } = await exportWithEmail(e);
    dispatcher(t, e).start();
    const tried = await until(async () => {
      const [d] = await t.service.jobs.store.deliveries(delivery.exportId);
      return d && d.attempts >= 1 ? d : undefined;
    });
    // Not sent, and retried (the operator's setting, not the recipient's address, is at fault).
    expect(tried.status).toBe('pending');
    expect(tried.lastError).toMatch(/^SMTP /);
    expect(logins).toEqual([]);
  });

  it('gives the email a stable Message-ID in the domain of TAKEOUT_PUBLIC_URL, marked as sent by a program', async () => {
    const smtp = await startSmtp();
    cleanups.push(() => smtp.close());
    const e = env(smtp.port);
    const { t, job, delivery } = await exportWithEmail(e);
    dispatcher(t, e).start();
    await until(async () => (smtp.messages.length > 0 ? true : undefined));
    const raw = smtp.messages[0]!.raw;
    expect(raw).toMatch(new RegExp(`^Message-ID: <${delivery.id}@exports\\.example\\.com>\\r?$`, 'im'));
    expect(raw).toContain(job.result!.filename);
    // RFC 3834: no vacation replies to an address nobody reads.
    expect(raw).toMatch(/^Auto-Submitted: auto-generated\r?$/im);
  });
});
