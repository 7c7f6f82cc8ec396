import { describe, expect, it } from 'vitest';
import { exportKey, isValidKey, keyFilename, normalizePrefix } from '../../src/storage/keys.js';

describe('storage keys', () => {
  it('lays keys out as <prefix><yyyy>/<mm>/<dd>/<export id>/<filename>, dated in UTC', () => {
    const createdAt = new Date('2024-03-31T23:30:00-02:00'); // 2024-04-01 01:30 UTC
    expect(exportKey({ exportId: 'exp_01H', filename: 'orders.csv', createdAt })).toBe(
      'generated/2024/04/01/exp_01H/orders.csv',
    );
    expect(exportKey({ exportId: 'a', filename: 'x.xlsx', createdAt, prefix: '/tenant-7/out/' })).toBe(
      'tenant-7/out/2024/04/01/a/x.xlsx',
    );
    // Each attempt of a job writes its own key.
    expect(exportKey({ exportId: 'exp_01H', filename: 'orders.csv', createdAt, attempt: 2 })).toBe(
      'generated/2024/04/01/exp_01H/a2/orders.csv',
    );
  });

  it('sanitises the file name for the key (the download name comes from metadata)', () => {
    expect(keyFilename('Q1 report: "final" <v2>?.csv')).toBe('Q1_report_final_v2_.csv');
    expect(keyFilename('../../etc/passwd')).toBe('etc_passwd');
    expect(keyFilename('Überweisungen März.xlsx')).toBe('Überweisungen_März.xlsx');
    expect(keyFilename('😀😀.csv')).toBe('export.csv');
    expect(keyFilename('.csv')).toBe('csv');
    expect(keyFilename('...')).toBe('export');
    expect(keyFilename('\u202Egnp.exe')).toBe('gnp.exe');
    const long = keyFilename(`${'ä'.repeat(300)}.csv`);
    expect(Buffer.byteLength(long)).toBeLessThanOrEqual(200);
    expect(long.endsWith('ä.csv')).toBe(true);
  });

  it('refuses export ids that are not plain identifiers', () => {
    for (const exportId of ['', '../x', 'a/b', 'a b', '-x', 'x'.repeat(129)]) {
      expect(() => exportKey({ exportId, filename: 'a.csv' })).toThrow(
        expect.objectContaining({ code: 'invalid_request' }),
      );
    }
  });

  it('accepts only relative keys of safe segments', () => {
    for (const good of ['generated/2024/01/01/a/b.csv', 'a', 'a/b c/d(1).csv', 'ü/ß']) {
      expect(isValidKey(good), good).toBe(true);
    }
    for (const bad of [
      '',
      '/a',
      'a/',
      'a//b',
      '../a',
      'a/..',
      'a/./b',
      '.hidden',
      'a/.tmp/b',
      'a\\b',
      'a\u0000b',
      'a\nb',
      'a\u202Eb',
      'u\u0308', // not NFC
      'x'.repeat(1025),
    ]) {
      expect(isValidKey(bad), JSON.stringify(bad)).toBe(false);
    }
  });

  it('normalises prefixes and refuses unsafe ones', () => {
    expect(normalizePrefix(undefined)).toBe('generated/');
    expect(normalizePrefix('')).toBe('generated/');
    expect(normalizePrefix('/')).toBe('generated/');
    expect(normalizePrefix('exports')).toBe('exports/');
    expect(normalizePrefix('/a/b/')).toBe('a/b/');
    expect(() => normalizePrefix('../up')).toThrow(expect.objectContaining({ code: 'config_error' }));
  });
});
