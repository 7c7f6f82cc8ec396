import { getEventListeners } from 'node:events';
import { describe, expect, it } from 'vitest';
import { abortWaiters, untilAborted, whenAborted } from '../../src/settle.js';

describe('whenAborted', () => {
  it('runs every callback still waiting, once, in the order they were added', () => {
    const controller = new AbortController();
    const calls: string[] = [];
    const f = () => calls.push('f');
    whenAborted(controller.signal, f);
    const stopB = whenAborted(controller.signal, () => calls.push('b'));
    whenAborted(controller.signal, f); // the same function twice runs twice
    whenAborted(controller.signal, () => calls.push('c'));
    stopB();
    expect(getEventListeners(controller.signal, 'abort')).toHaveLength(1);
    controller.abort();
    controller.abort();
    expect(calls).toEqual(['f', 'f', 'c']);
    expect(abortWaiters(controller.signal)).toBe(0);
  });

  it('calls at once on a signal already aborted, and adds nothing to it', () => {
    const signal = AbortSignal.abort();
    let calls = 0;
    whenAborted(signal, () => calls++)();
    expect(calls).toBe(1);
    expect(getEventListeners(signal, 'abort')).toHaveLength(0);
  });

  it('leaves nothing waiting once the work it raced has settled', async () => {
    const controller = new AbortController();
    for (let i = 0; i < 50; i++) await untilAborted(Promise.resolve(i), controller.signal);
    await expect(untilAborted(Promise.reject(new Error('no')), controller.signal)).rejects.toThrow('no');
    expect(abortWaiters(controller.signal)).toBe(0);
    const pending = untilAborted(new Promise(() => {}), controller.signal);
    controller.abort(new Error('stopped'));
    await expect(pending).rejects.toThrow('stopped');
  });
});
