/**
 * The export page's time limit on short answers (web/src/api.ts), also in browsers without
 * AbortSignal.any: it ends with the caller's signal (and, by AbortSignal.timeout, at the limit).
 */
import { afterEach, describe, expect, it } from 'vitest';
import { answerSignal } from '../../web/src/answer-signal.js';

const any = AbortSignal.any;

afterEach(() => {
  AbortSignal.any = any;
});

describe.each([
  ['with AbortSignal.any', false],
  ['without AbortSignal.any (older browsers)', true],
])('answerSignal %s', (_name, withoutAny) => {
  it("ends with the caller's signal, with its reason", () => {
    if (withoutAny) AbortSignal.any = undefined as unknown as typeof AbortSignal.any;
    const caller = new AbortController();
    const signal = answerSignal(caller.signal);
    expect(signal.aborted).toBe(false);
    caller.abort(new Error('left the page'));
    expect(signal.aborted).toBe(true);
    expect((signal.reason as Error).message).toBe('left the page');
  });
});
