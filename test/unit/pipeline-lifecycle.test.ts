import { getEventListeners } from 'node:events';
import { parse } from 'csv-parse/sync';
import { describe, expect, it } from 'vitest';
import { exportRows, prepareExport } from '../../src/pipeline.js';
import { abortWaiters } from '../../src/settle.js';
import { rowsSource } from '../../src/sources/rows.js';
import type { Source } from '../../src/types.js';

async function drain(stream: NodeJS.ReadableStream): Promise<string> {
  let out = '';
  for await (const chunk of stream) out += chunk.toString();
  return out;
}

function closeCounting(source: Source): Source & { closes: number } {
  const counted = Object.assign(source, { closes: 0 });
  const close = source.close?.bind(source);
  counted.close = async () => {
    counted.closes++;
    await close?.();
  };
  return counted;
}

describe('export lifecycle', () => {
  it('leaves no listener on a long-lived signal after exports finish', async () => {
    const shutdown = new AbortController();
    for (let i = 0; i < 20; i++) {
      await drain(
        (await prepareExport(rowsSource([{ a: i }]), { format: 'csv', signal: shutdown.signal })).stream,
      );
      await drain(exportRows([{ a: i }], { format: 'json', signal: shutdown.signal }));
    }
    // One listener behind which every export waits (settle.ts whenAborted), and no export left.
    expect(getEventListeners(shutdown.signal, 'abort').length).toBeLessThanOrEqual(1);
    expect(abortWaiters(shutdown.signal)).toBe(0);
  });

  it('closes the source when the stream is destroyed before its first read', async () => {
    const source = closeCounting(rowsSource([{ a: 1 }]));
    const prepared = await prepareExport(source, { format: 'csv' });
    prepared.stream.destroy();
    await expect.poll(() => source.closes).toBe(1);
  });

  it('ends an unread stream when its signal aborts, and closes the source', async () => {
    const source = closeCounting(rowsSource([{ a: 1 }]));
    const controller = new AbortController();
    const stream = exportRows([], { format: 'csv', signal: controller.signal });
    const closed = new Promise((resolve) => stream.once('close', resolve));
    stream.on('error', () => {});
    controller.abort();
    await closed;
    expect(stream.destroyed).toBe(true);
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(0);
    const prepared = await prepareExport(source, { format: 'csv', signal: controller.signal }).catch(
      (e) => e,
    );
    expect(prepared.code).toBe('aborted');
    expect(source.closes).toBe(1);
  });

  it('settles an abort at once even when the source is stuck', async () => {
    const stuck: AsyncIterable<Record<string, unknown>> = {
      [Symbol.asyncIterator]: () => ({ next: () => new Promise(() => {}) }),
    };
    const controller = new AbortController();
    const pending = prepareExport(rowsSource(stuck), { format: 'csv', signal: controller.signal });
    setTimeout(() => controller.abort(), 20);
    await expect(pending).rejects.toMatchObject({ code: 'aborted' });
  });

  it('reads object keys named like Object.prototype members only when the row has them', async () => {
    const rows: Record<string, unknown>[] = [{ constructor: 'own', toString: 'x' }, { other: 1 }];
    const csv = await drain(
      exportRows(rows, { format: 'csv', columns: ['constructor', 'toString', 'other'] }),
    );
    expect(parse(csv, { columns: true })).toEqual([
      { constructor: 'own', toString: 'x', other: '' },
      { constructor: '', toString: '', other: '1' },
    ]);
    const json = JSON.parse(
      await drain(exportRows([{}], { format: 'json', columns: ['__proto__', 'valueOf'] })),
    );
    expect(JSON.stringify(json)).toBe('[{"__proto__":null,"valueOf":null}]');
  });
});
