import { getEventListeners } from 'node:events';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
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

  it('removes its listener once nothing waits, so a signal of AbortSignal.any() can be collected', async () => {
    setFlagsFromString('--expose-gc');
    const gc = runInNewContext('gc') as () => void;
    const shutdown = new AbortController(); // lives as long as the test: a server's shutdown
    const refs: WeakRef<AbortSignal>[] = [];
    for (let i = 0; i < 50; i++) {
      const signal = AbortSignal.any([shutdown.signal]);
      refs.push(new WeakRef(signal));
      await untilAborted(Promise.resolve(i), signal);
    }
    const one = AbortSignal.any([shutdown.signal]);
    whenAborted(one, () => {})();
    expect(getEventListeners(one, 'abort')).toHaveLength(1); // until the event loop turns
    await new Promise((resolve) => setImmediate(resolve));
    expect(getEventListeners(one, 'abort')).toHaveLength(0);
    gc();
    await new Promise((resolve) => setTimeout(resolve, 0));
    gc();
    expect(refs.filter((ref) => ref.deref() !== undefined).length).toBeLessThan(5);
  });

  it('runs every callback even when one throws', async () => {
    const controller = new AbortController();
    const calls: number[] = [];
    const uncaught: unknown[] = [];
    const onUncaught = (error: unknown) => uncaught.push(error);
    whenAborted(controller.signal, () => calls.push(1));
    whenAborted(controller.signal, () => {
      throw new Error('boom');
    });
    whenAborted(controller.signal, () => calls.push(3));
    process.prependListener('uncaughtException', onUncaught);
    controller.abort();
    expect(calls).toEqual([1, 3]);
    // The error is rethrown on the next tick, as an EventTarget listener's is.
    await new Promise((resolve) => setImmediate(resolve));
    process.off('uncaughtException', onUncaught);
    expect(uncaught).toHaveLength(1);
  });
});
