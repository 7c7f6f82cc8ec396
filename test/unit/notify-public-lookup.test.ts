/**
 * Where a per-export webhook's host name may resolve: public unicast addresses only. The
 * lookup is handed canned answers, as a resolver under someone else's control would give.
 */
import type { LookupAddress } from 'node:dns';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { describe, expect, it } from 'vitest';
import { isPublicAddress, NotPublicAddressError, publicOnlyLookup } from '../../src/notify/public-lookup.js';
import { sendWebhook } from '../../src/notify/webhook.js';

const NOT_PUBLIC = [
  '127.0.0.1',
  '127.1.2.3',
  '10.0.0.5',
  '172.16.0.1',
  '192.168.1.1',
  '169.254.169.254', // cloud metadata
  '100.64.0.1', // carrier-grade NAT
  '0.0.0.0',
  '255.255.255.255',
  '224.0.0.1',
  '::1',
  '::',
  'fc00::1',
  'fd12:3456::1',
  'fe80::1',
  '::ffff:127.0.0.1', // IPv4-mapped loopback
  '::ffff:169.254.169.254',
  '::7f00:1', // IPv4-compatible loopback
  'not an address',
];
const PUBLIC = ['8.8.8.8', '1.1.1.1', '93.184.216.34', '2606:4700:4700::1111', '::ffff:8.8.8.8'];

describe('isPublicAddress', () => {
  it.each(NOT_PUBLIC)('%s is not public', (address) => expect(isPublicAddress(address)).toBe(false));
  it.each(PUBLIC)('%s is public', (address) => expect(isPublicAddress(address)).toBe(true));
});

/** A resolver answering `answers` for every name. */
const resolver =
  (answers: LookupAddress[]) =>
  (_host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) =>
    options.all ? callback(null, answers) : callback(null, answers[0]!.address, answers[0]!.family);

const lookUp = (answers: LookupAddress[], all: boolean) =>
  new Promise<{ error: unknown; address: unknown }>((resolve) =>
    publicOnlyLookup(resolver(answers) as never)('hooks.example.com', { all }, (error, address) =>
      resolve({ error, address }),
    ),
  );

describe('publicOnlyLookup', () => {
  it('passes public answers through, one or all', async () => {
    const answers = [
      { address: '93.184.216.34', family: 4 },
      { address: '2606:4700:4700::1111', family: 6 },
    ];
    expect(await lookUp(answers, true)).toEqual({ error: null, address: answers });
    expect(await lookUp(answers, false)).toEqual({ error: null, address: '93.184.216.34' });
  });

  it('fails when any answer is not public, naming the name and the address', async () => {
    const { error } = await lookUp(
      [
        { address: '93.184.216.34', family: 4 },
        { address: '169.254.169.254', family: 4 },
      ],
      true,
    );
    expect(error).toBeInstanceOf(NotPublicAddressError);
    expect((error as NotPublicAddressError).address).toBe('169.254.169.254');
    expect((error as Error).message).not.toContain('169.254');
    expect((error as Error).message).toMatch(/^hooks\.example\.com does not resolve to a public address/);
  });

  it('fails the same way when the resolver fails, keeping its error as the cause', async () => {
    const notFound = Object.assign(new Error('getaddrinfo ENOTFOUND nowhere.example'), { code: 'ENOTFOUND' });
    const failing = (_h: string, _o: unknown, callback: (error: Error) => void) => callback(notFound);
    const error = await new Promise((resolve) =>
      publicOnlyLookup(failing as never)('nowhere.example', {}, (e) => resolve(e)),
    );
    expect(error).toBeInstanceOf(NotPublicAddressError);
    expect(error).toMatchObject({ code: 'ENOTPUBLIC', address: undefined, cause: notFound });
    expect((error as Error).message).toBe(
      'nowhere.example does not resolve to a public address: not called ' +
        '(list the address itself in TAKEOUT_WEBHOOK_ALLOW, or set TAKEOUT_WEBHOOK_ALLOW_PRIVATE=true)',
    );
    expect((error as Error).message).not.toContain('ENOTFOUND');
  });

  it('fails the same way when there is no answer', async () => {
    const { error } = await lookUp([], true);
    expect(error).toBeInstanceOf(NotPublicAddressError);
    expect((error as Error).message).toMatch(/^hooks\.example\.com does not resolve to a public address/);
  });
});

const SECRET = `whsec_${Buffer.alloc(24, 1).toString('base64')}`;

/** A webhook receiver on loopback that answers 204 and counts the requests that reach it. */
async function countingReceiver() {
  const counted = { received: 0 };
  const server = createServer((request, response) => {
    counted.received++;
    request.resume();
    response.writeHead(204).end();
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  return {
    port: (server.address() as AddressInfo).port,
    get received() {
      return counted.received;
    },
    async close() {
      server.closeAllConnections();
      await new Promise((resolve) => server.close(resolve));
    },
  };
}

describe('sendWebhook to a name', () => {
  it('connects to a private answer only when not publicOnly, and the refused request never arrives', async () => {
    const receiver = await countingReceiver();
    const { port } = receiver;
    const send = (publicOnly: boolean) =>
      sendWebhook({
        url: `http://hooks.example.com:${port}/hook`,
        id: 'msg_1',
        body: '{}',
        secrets: [SECRET],
        timeoutMs: 2000,
        publicOnly,
        lookup: resolver([{ address: '127.0.0.1', family: 4 }]) as never,
      });
    try {
      expect(await send(true)).toEqual({
        error: expect.stringMatching(/^hooks\.example\.com does not resolve to a public address/),
      });
      expect(receiver.received).toBe(0);
      expect(await send(false)).toEqual({ statusCode: 204 });
      expect(receiver.received).toBe(1);
    } finally {
      await receiver.close();
    }
  });
});

describe('an owner’s webhook under an allowed wildcard', () => {
  it('fails alike for a name that points inside and a name that does not exist', async () => {
    const receiver = await countingReceiver();
    const { port } = receiver;
    // The operator's DNS: `db.corp.example.com` is internal, `nothing.corp.example.com` does not
    // exist, `again.corp.example.com` gets no answer for now.
    const corpDns = (host: string, options: { all?: boolean }, callback: (...args: unknown[]) => void) => {
      if (host === 'db.corp.example.com') {
        return options.all
          ? callback(null, [{ address: '127.0.0.1', family: 4 }])
          : callback(null, '127.0.0.1', 4);
      }
      const code = host === 'again.corp.example.com' ? 'EAI_AGAIN' : 'ENOTFOUND';
      callback(Object.assign(new Error(`getaddrinfo ${code} ${host}`), { code, hostname: host }));
    };
    // What the owner reads, with the name they gave written <name>.
    const lastError = async (host: string) => {
      const answer = await sendWebhook({
        url: `http://${host}:${port}/hook`,
        id: 'msg_1',
        body: '{}',
        secrets: [SECRET],
        timeoutMs: 2000,
        publicOnly: true,
        lookup: corpDns as never,
      });
      return { ...answer, error: answer.error?.replaceAll(host, '<name>') };
    };
    try {
      const alike = {
        error:
          '<name> does not resolve to a public address: not called ' +
          '(list the address itself in TAKEOUT_WEBHOOK_ALLOW, or set TAKEOUT_WEBHOOK_ALLOW_PRIVATE=true)',
      };
      expect({
        internal: await lastError('db.corp.example.com'),
        missing: await lastError('nothing.corp.example.com'),
        noAnswer: await lastError('again.corp.example.com'),
      }).toEqual({ internal: alike, missing: alike, noAnswer: alike });
      expect(receiver.received).toBe(0);
    } finally {
      await receiver.close();
    }
  });
});
