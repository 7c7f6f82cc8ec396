import { describe, expect, it } from 'vitest';
import { s3Storage } from '../../src/storage/s3.js';
import {
  BufferPool,
  DEFAULT_PART_SIZE,
  MAX_PART_SIZE,
  MAX_PARTS,
  MIN_PART_SIZE,
  maxUploadSize,
  partSizeFor,
} from '../../src/storage/s3-parts.js';

const TiB = 1024 ** 4;

describe('multipart part sizes', () => {
  it('covers more than S3’s 5 TiB object limit within 10,000 growing parts', () => {
    expect(maxUploadSize(DEFAULT_PART_SIZE, false)).toBeGreaterThan(5 * TiB);
    expect(maxUploadSize(MIN_PART_SIZE, false)).toBeGreaterThan(4.8 * TiB); // 1023 x 1000 x 5 MiB
    for (let part = 1; part <= MAX_PARTS; part++) {
      const size = partSizeFor(part, DEFAULT_PART_SIZE, false);
      expect(size).toBeGreaterThanOrEqual(MIN_PART_SIZE);
      expect(size).toBeLessThanOrEqual(MAX_PART_SIZE);
    }
  });

  it('keeps small exports in small parts', () => {
    expect(partSizeFor(1, DEFAULT_PART_SIZE, false)).toBe(8 * 1024 * 1024);
    expect(partSizeFor(1000, DEFAULT_PART_SIZE, false)).toBe(8 * 1024 * 1024);
    expect(partSizeFor(1001, DEFAULT_PART_SIZE, false)).toBe(16 * 1024 * 1024);
    expect(partSizeFor(10_000, DEFAULT_PART_SIZE, false)).toBe(4 * 1024 ** 3);
  });

  it('keeps every part the same size in uniform mode (R2)', () => {
    expect(partSizeFor(9999, 64 * 1024 * 1024, true)).toBe(64 * 1024 * 1024);
    expect(maxUploadSize(64 * 1024 * 1024, true)).toBe(64 * 1024 * 1024 * MAX_PARTS);
  });

  it('tells the largest object an S3 storage can store (background exports stop there)', () => {
    const uniform = s3Storage({ bucket: 'takeout-test', partSize: MIN_PART_SIZE, uniformParts: true });
    expect(uniform.maxObjectBytes).toBe(MIN_PART_SIZE * MAX_PARTS);
    expect(s3Storage({ bucket: 'takeout-test' }).maxObjectBytes).toBe(
      maxUploadSize(DEFAULT_PART_SIZE, false),
    );
  });
});

describe('BufferPool', () => {
  it('reuses released buffers of the current size only, up to its slots', () => {
    const pool = new BufferPool(2);
    const a = pool.acquire(16);
    const b = pool.acquire(16);
    const c = pool.acquire(16);
    pool.release(a);
    pool.release(b);
    pool.release(c); // over the slots: dropped
    expect([pool.acquire(16), pool.acquire(16)].sort()).toEqual([a, b].sort());
    expect(pool.acquire(16)).not.toBe(c);
    pool.release(a);
    const bigger = pool.acquire(32); // size changed: old buffers are let go
    expect(bigger.length).toBe(32);
    pool.release(a);
    expect(pool.acquire(32)).not.toBe(a);
  });
});
