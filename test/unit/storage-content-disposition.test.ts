import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import { contentDisposition, sanitizeFilename } from '../../src/http/content-disposition.js';
import { exportKey } from '../../src/storage/keys.js';

// An independent reader: the parser Koa uses (installed with s3rver).
const require = createRequire(import.meta.url);
const { parse } = require('content-disposition') as {
  parse(header: string): { type: string; parameters: Record<string, string> };
};

describe('contentDisposition', () => {
  it('keeps a plain ASCII name in both parameters', () => {
    const header = contentDisposition('orders-2024.csv');
    expect(header).toBe(`attachment; filename="orders-2024.csv"; filename*=UTF-8''orders-2024.csv`);
    expect(parse(header)).toEqual({ type: 'attachment', parameters: { filename: 'orders-2024.csv' } });
  });

  it('carries a unicode name in filename* and an ASCII fallback in filename', () => {
    const name = 'Überweisungen 2024 – café 😀 日本.xlsx';
    const header = contentDisposition(name);
    expect(header).toMatch(/^[\x20-\x7e]+$/);
    expect(parse(header).parameters.filename).toBe(name); // the reader prefers filename*
    const fallback = /filename="([^"]*)"/.exec(header)?.[1];
    expect(fallback).toBe('Uberweisungen 2024 _ cafe _ __.xlsx');
  });

  it('encodes the RFC 5987 reserved characters', () => {
    const header = contentDisposition("it's (final) v2 100%.csv");
    expect(header).toContain("filename*=UTF-8''it%27s%20%28final%29%20v2%20100%25.csv");
    expect(header).toContain('filename="it\'s (final) v2 100_.csv"');
    expect(parse(header).parameters.filename).toBe("it's (final) v2 100%.csv");
  });

  it('cannot be broken by CR/LF, quotes, slashes or backslashes', () => {
    const header = contentDisposition('evil"\r\nSet-Cookie: a=b;\\..\\../etc/passwd.csv');
    expect(header).not.toMatch(/[\r\n]/);
    const parsed = parse(header);
    expect(parsed.parameters.filename).toBe('evil_Set-Cookie_ a=b;_.._.._etc_passwd.csv');
    expect(header.match(/"/g)).toHaveLength(2);
  });

  it('replaces what Windows refuses in a file name', () => {
    expect(sanitizeFilename('Q3 <draft>: a|b? *.csv')).toBe('Q3 _draft__ a_b_ _.csv');
    expect(sanitizeFilename('report:final.csv')).toBe('report_final.csv');
  });

  it('gives a name in NFC even when an invisible character sat inside a composed letter', () => {
    const name = sanitizeFilename('e\u200B\u0301t\u00E9.csv');
    expect(name).toBe('\u00E9t\u00E9.csv');
    expect(name.normalize('NFC')).toBe(name);
    // The storage key of a job takes the name as it is: once, the worker refused it.
    expect(exportKey({ prefix: 'generated/', exportId: 'exp_1', filename: name })).toMatch(/\.csv$/);
  });

  it('removes control and bidi characters that could spoof the extension', () => {
    // "invoice\u202Efdp.exe" displays as "invoiceexe.pdf" in a bidi-aware UI.
    expect(sanitizeFilename('invoice\u202Efdp.exe')).toBe('invoicefdp.exe');
    expect(sanitizeFilename('a\u0000b\u0007c\u200Fd\u2066e\u061Cf\u0085g.csv')).toBe('abcdefg.csv');
    expect(parse(contentDisposition('x\u202Ey.csv')).parameters.filename).toBe('xy.csv');
    // Invisible format characters too: a soft hyphen, a word joiner, an invisible separator.
    expect(sanitizeFilename('gnp.exe \u00ad x\u2060\u2063\u180e\u206a\ufff9.csv')).toBe('gnp.exe  x.csv');
  });

  it('keeps emoji joiner sequences intact', () => {
    expect(sanitizeFilename('👩‍💻 team.csv')).toBe('👩‍💻 team.csv');
  });

  it('strips leading dots and trailing dots/spaces, and falls back when nothing is left', () => {
    expect(sanitizeFilename('..hidden.csv. ')).toBe('hidden.csv');
    expect(sanitizeFilename('\r\n\u202E')).toBe('download');
    expect(contentDisposition('')).toBe(`attachment; filename="download"; filename*=UTF-8''download`);
  });

  it('bounds the length in UTF-8 bytes, between whole characters, and keeps the extension', () => {
    const name = sanitizeFilename(`${'é'.repeat(500)}.xlsx`);
    expect(name).toBe(`${'é'.repeat(87)}.xlsx`); // 174 + 5 bytes
    expect(sanitizeFilename('😀'.repeat(300))).toBe('😀'.repeat(45));
    // 100 CJK characters (300 bytes) used to pass as 100 characters: too long to save with a temp suffix.
    const cjk = sanitizeFilename(`${'日'.repeat(100)}.csv`);
    expect([cjk, Buffer.byteLength(cjk)]).toEqual([`${'日'.repeat(58)}.csv`, 178]);
    expect(sanitizeFilename(`${'a'.repeat(300)}.csv`)).toBe(`${'a'.repeat(176)}.csv`);
  });

  it('gives a readable ASCII fallback when the name has no ASCII letter or digit', () => {
    const header = contentDisposition('日本語.csv');
    expect(header).toBe(
      `attachment; filename="download.csv"; filename*=UTF-8''${encodeURIComponent('日本語.csv')}`,
    );
    expect(parse(header).parameters.filename).toBe('日本語.csv');
    expect(contentDisposition('日本 2024.csv')).toContain('filename="__ 2024.csv"');
    expect(contentDisposition('日本語.tar.gz')).toContain('filename="download.tar.gz"');
    expect(contentDisposition('report.final.csv')).toContain('filename="report.final.csv"');
  });

  it('keeps full-width quotes, slashes and separators from becoming ASCII ones in the fallback', () => {
    const header = contentDisposition('report＂; filename＝＂evil.html＂ x＼.csv');
    expect(header.startsWith('attachment; filename="report__ filename__evil.html_ x_.csv"; filename*=')).toBe(
      true,
    );
    expect(header.match(/filename=/g)).toHaveLength(1);
    expect(parse(header).parameters.filename).toBe('report＂; filename＝＂evil.html＂ x＼.csv');
  });

  it('supports inline', () => {
    expect(parse(contentDisposition('a.csv', 'inline')).type).toBe('inline');
  });

  it('gives plain ASCII names (its fast path) exactly what the full sanitising gives them', () => {
    // A zero-width space is removed by the full pass, and only the full pass takes such a name:
    // with it appended, the full pass's answer for the same name.
    const alphabet = 'aZ09 ..."/\\-_!~#<>:|?*;=@[]{}`^()+,';
    let seed = 42;
    const random = (n: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % n;
    };
    for (let i = 0; i < 3000; i++) {
      let name = '';
      for (let n = 1 + random(12); n > 0; n--) name += alphabet[random(alphabet.length)];
      expect(sanitizeFilename(name, 'fallback'), JSON.stringify(name)).toBe(
        sanitizeFilename(`${name}\u200b`, 'fallback'),
      );
    }
  });
});
