/**
 * The COPY OUT reader against crafted protocol bytes, split at every possible place: rows,
 * CRLF conversion and the bytes handed back to pg must not depend on socket chunking.
 */
import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { CopyOut } from '../../src/sources/postgres-copy-out.js';

function message(type: string, payload: Buffer): Buffer {
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeUInt32BE(payload.length + 4, 1);
  return Buffer.concat([header, payload]);
}

const ROWS = ['1,"two\nlines"\n', '2,plain\n', '3,"say ""hi"""\n'];
const START = message('H', Buffer.from([0, 0, 2, 0, 0, 0, 0]));
const DATA = ROWS.map((r) => message('d', Buffer.from(r)));
const NOTICE = message('N', Buffer.from('SNOTICE\0\0'));
const AFTER = Buffer.concat([message('C', Buffer.from('COPY 3\0')), message('Z', Buffer.from('I'))]);
const WIRE = Buffer.concat([
  START,
  DATA[0] as Buffer,
  NOTICE,
  ...DATA.slice(1),
  message('c', Buffer.alloc(0)),
  AFTER,
]);

async function run(chunks: Buffer[], crlf: boolean) {
  const stream = new PassThrough();
  const handedBack: Buffer[] = [];
  let copy: CopyOut | undefined;
  // Stands in for pg: gets the socket's bytes once the reader lets go; ReadyForQuery ends it.
  stream.on('data', (b: Buffer) => {
    handedBack.push(b);
    if (Buffer.concat(handedBack).includes(Buffer.from('Z\0\0\0\x05I', 'latin1')))
      copy?.handleReadyForQuery();
  });
  copy = new CopyOut('COPY x TO STDOUT', { crlf });
  let sent = '';
  copy.submit({ stream, query: (text) => (sent = text) });
  expect(sent).toBe('COPY x TO STDOUT');
  const writer = (async () => {
    for (const c of chunks) {
      stream.write(Buffer.from(c)); // a fresh buffer, as a socket gives: the reader works in place
      await new Promise((resolve) => setImmediate(resolve));
    }
  })();
  const out: Buffer[] = [];
  let rows = 0;
  for (let chunk = await copy.read(); chunk; chunk = await copy.read()) {
    out.push(chunk.bytes);
    rows += chunk.rows;
  }
  await writer;
  return { text: Buffer.concat(out).toString(), rows, handedBack: Buffer.concat(handedBack) };
}

describe('CopyOut', () => {
  it('reads rows whatever the socket chunking, and hands back what follows CopyDone', async () => {
    for (const crlf of [false, true]) {
      const expected = crlf ? ROWS.map((r) => `${r.slice(0, -1)}\r\n`).join('') : ROWS.join('');
      for (let at = 1; at < WIRE.length; at++) {
        const result = await run([WIRE.subarray(0, at), WIRE.subarray(at)], crlf);
        expect(result.text).toBe(expected);
        expect(result.rows).toBe(3);
        expect(result.handedBack.equals(AFTER)).toBe(true);
      }
    }
  });

  it('writes CRLF at row ends only, even with one byte per chunk', async () => {
    const bytes = [...WIRE].map((b) => Buffer.from([b]));
    const result = await run(bytes, true);
    expect(result.text).toBe('1,"two\nlines"\r\n2,plain\r\n3,"say ""hi"""\r\n');
    expect(result.rows).toBe(3);
    expect(result.handedBack.equals(AFTER)).toBe(true);
  });

  it('hands an error message back to pg and rejects with the error pg reports', async () => {
    const error = message('E', Buffer.from('SERROR\0C57014\0\0'));
    const wire = Buffer.concat([START, DATA[0] as Buffer, error, message('Z', Buffer.from('I'))]);
    for (let at = 1; at < wire.length; at++) {
      const stream = new PassThrough();
      const handedBack: Buffer[] = [];
      const copy = new CopyOut('COPY x TO STDOUT', { crlf: false });
      stream.on('data', (b: Buffer) => {
        handedBack.push(b);
        if (Buffer.concat(handedBack)[0] === 0x45)
          copy.handleError(Object.assign(new Error('x'), { code: '57014' }));
      });
      copy.submit({ stream, query: () => {} });
      const got: string[] = [];
      const reading = (async () => {
        for (let c = await copy.read(); c; c = await copy.read()) got.push(c.bytes.toString());
      })();
      // The rejection may come while the test still writes: handled here, asserted below.
      reading.catch(() => {});
      stream.write(Buffer.from(wire.subarray(0, at)));
      await new Promise((resolve) => setImmediate(resolve));
      stream.write(Buffer.from(wire.subarray(at)));
      await expect(reading).rejects.toMatchObject({ code: '57014' });
      expect(Buffer.concat(handedBack).subarray(0, 1).toString()).toBe('E');
      // Rows gathered before the error may be dropped: the export fails either way.
      expect(ROWS[0]?.startsWith(got.join(''))).toBe(true);
    }
  });
});
