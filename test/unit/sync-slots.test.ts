import { describe, expect, it } from 'vitest';
import { SyncSlots } from '../../src/http/sync-slots.js';

const ann = { id: 'ann', tenant: 'acme' };
const bob = { id: 'bob', tenant: 'acme' };
const otherAnn = { id: 'ann', tenant: 'globex' };

function codeOf(fn: () => unknown): string | undefined {
  try {
    fn();
    return undefined;
  } catch (error) {
    return (error as { code?: string }).code;
  }
}

describe('SyncSlots', () => {
  it('caps each principal and the process, and a slot released twice counts once', () => {
    const slots = new SyncSlots({ total: 3, perPrincipal: 2 });
    const a1 = slots.acquire(ann);
    const a2 = slots.acquire(ann);
    expect(codeOf(() => slots.acquire(ann))).toBe('too_many_exports');
    // The same id in another tenant is another caller.
    const o1 = slots.acquire(otherAnn);
    expect(slots.running).toBe(3);
    expect(codeOf(() => slots.acquire(bob))).toBe('too_busy');
    a1.release();
    a1.release();
    expect(slots.running).toBe(2);
    const b1 = slots.acquire(bob);
    expect(codeOf(() => slots.acquire(bob))).toBe('too_busy');
    for (const slot of [a2, o1, b1]) slot.release();
    expect(slots.running).toBe(0);
    expect(slots.principals).toBe(0);
  });
});
