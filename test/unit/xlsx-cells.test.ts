import { describe, expect, it } from 'vitest';
import { ascii, BufferPool, XmlBytes } from '../../src/formats/xlsx/bytes.js';
import { quotedSheetRef, SheetNames, sanitizeSheetName } from '../../src/formats/xlsx/names.js';
import { xlsxSettings } from '../../src/formats/xlsx/options.js';
import {
  exactNumberText,
  significantDigits,
  TRUNCATION_MARKER,
  truncateText,
  writeDayFraction,
  writeDecimal,
  writePlainDecimal,
} from '../../src/formats/xlsx/values.js';
import { attrText, cellText, columnLetters, needsPreserve } from '../../src/formats/xlsx/xml.js';

/** What a byte writer call writes, as text. */
function written(write: (out: XmlBytes) => unknown): string {
  const out = new XmlBytes(new BufferPool());
  write(out);
  return out.buf.toString('utf8', 0, out.pos);
}

const decimalText = (v: number) =>
  written((out) => {
    if (!writeDecimal(out, v)) out.ascii(String(v));
  });
const dayFractionText = (ms: number) => written((out) => writeDayFraction(out, ms));

describe('byte writer', () => {
  it('writes integers, fixed-width digits and plain text', () => {
    expect(written((o) => o.int(0))).toBe('0');
    expect(written((o) => o.int(-42))).toBe('-42');
    expect(written((o) => o.int(2_147_483_648))).toBe('2147483648');
    expect(written((o) => o.int(9_007_199_254_740_991))).toBe('9007199254740991');
    expect(written((o) => o.fixed(42, 5))).toBe('00042');
    // Digits are written two at a time, in 32-bit halves: every length and both sides of 2^31.
    for (let v = 1, digits = 1; digits <= 16; v *= 10, digits++) {
      for (const n of [v - 1, v, v + 1, 2 * v + 3, 9.5 * v - 1]) {
        if (!Number.isSafeInteger(n)) continue;
        expect(written((o) => o.int(n))).toBe(String(n));
        expect(written((o) => o.int(-n))).toBe(String(-n));
        expect(written((o) => o.fixed(n, 16))).toBe(String(n).padStart(16, '0'));
      }
    }
    for (const n of [2 ** 31 - 1, 2 ** 31, 2 ** 32 + 7, 10 ** 9 - 1, 10 ** 9, 10 ** 10 + 5]) {
      expect(written((o) => o.int(n))).toBe(String(n));
    }
    for (let width = 1; width <= 15; width++)
      expect(written((o) => o.fixed(7, width))).toBe('7'.padStart(width, '0'));
    expect(written((o) => o.text('Zoë 👩‍💻 مرحبا 日本語 a_b'))).toBe('Zoë 👩‍💻 مرحبا 日本語 a_b');
  });

  it('refuses text that needs escaping', () => {
    for (const s of ['a&b', 'a<b', 'a>b', 'a\rb', 'a\u0001', '_x0041_', 'a\uD800', '\uDC00a', 'x\uFFFE']) {
      expect(new XmlBytes(new BufferPool()).text(s), JSON.stringify(s)).toBe(false);
    }
  });

  it('copies text from bytes exactly when textCell would copy the same text, and declines the rest', () => {
    const head = ascii('<t>');
    const tail = ascii('</t>');
    let x = 2463534242 | 0; // xorshift32: every bit of the draw is usable
    const pick = (k: number) => {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      return (x >>> 0) % k;
    };
    // Runs of characters that copy as they are (the four-bytes-at-a-time path), with up to
    // two of those that need a look put anywhere in them.
    const plain = 'abcdefghijklmnopqrstuvwxyzAZ0123 -.@/"\'x';
    const special = ['_', '_x', 'x_', '&', '<', '>', '\t', '\n', '\r', '\u0001', '\u007f', 'é'];
    const text = () => {
      let s = Array.from({ length: pick(40) }, () => plain[pick(plain.length)]).join('');
      for (let k = pick(3); k > 0; k--) {
        const at = pick(s.length + 1);
        s = s.slice(0, at) + special[pick(special.length)] + s.slice(at);
      }
      return s;
    };
    let copied = 0;
    for (let i = 0; i < 5000; i++) {
      const s = text();
      // The bytes sit inside a larger buffer, between bytes that must not be read.
      const bytes = Buffer.concat([Buffer.from('x_'), Buffer.from(s, 'utf8'), Buffer.from('x')]);
      const fromText = new XmlBytes(new BufferPool());
      const fromBytes = new XmlBytes(new BufferPool());
      const textOk = fromText.textCell(head, s, tail);
      const bytesOk = fromBytes.asciiCell(head, bytes, 2, bytes.length - 3, tail);
      if (s.includes('é')) expect(bytesOk, JSON.stringify(s)).toBe(false);
      else expect(bytesOk, JSON.stringify(s)).toBe(textOk);
      if (bytesOk) {
        copied++;
        expect(fromBytes.buf.subarray(0, fromBytes.pos).equals(fromText.buf.subarray(0, fromText.pos))).toBe(
          true,
        );
      }
    }
    expect(copied).toBeGreaterThan(500);
  });

  it('grows past the slack for a huge row and keeps what was written', () => {
    const long = 'é'.repeat(400_000);
    expect(
      written((o) => {
        o.ascii('<x>');
        o.text(long);
      }),
    ).toBe(`<x>${long}`);
  });
});

describe('cell text escaping', () => {
  it('leaves plain text alone', () => {
    for (const s of ['Alice', 'café', 'مرحبا', 'a;b,c "q"', '#1 ~ ^ | {}']) expect(cellText(s)).toBe(s);
  });

  it('escapes markup, Excel-escapes controls, writes CR as a character reference, keeps TAB and LF', () => {
    expect(cellText('a & b < c > d')).toBe('a &amp; b &lt; c &gt; d');
    expect(cellText('x\u0000y\u0008z\u001F')).toBe('x_x0000_y_x0008_z_x001F_');
    expect(cellText('line\r\nnext\tcol')).toBe('line&#13;\nnext\tcol');
  });

  it('protects text that already looks like an _xHHHH_ escape', () => {
    expect(cellText('_x0041_ and _x00e9_')).toBe('_x005F_x0041_ and _x005F_x00e9_');
    expect(cellText('snake_case_x12_')).toBe('snake_case_x12_');
  });

  it('keeps surrogate pairs and drops what XML cannot hold', () => {
    expect(cellText('👩‍💻 ok 😀')).toBe('👩‍💻 ok 😀');
    expect(cellText('a\uD800b\uDC00c')).toBe('abc');
    expect(cellText('x\uFFFEy\uFFFFz')).toBe('xyz');
  });

  it('escapes attributes without _x escapes', () => {
    expect(attrText('a "b" & <c>\u0001')).toBe('a &quot;b&quot; &amp; &lt;c&gt;');
  });

  it('knows when white space must be preserved', () => {
    expect(needsPreserve(' a')).toBe(true);
    expect(needsPreserve('a\n')).toBe(true);
    expect(needsPreserve('a b')).toBe(false);
  });
});

describe('numbers', () => {
  it('counts significant digits of a decimal text', () => {
    expect(significantDigits('0.000123')).toBe(3);
    expect(significantDigits('-1200')).toBe(2);
    expect(significantDigits('1.50e10')).toBe(2);
    expect(significantDigits('123456789012345.6')).toBe(16);
    expect(significantDigits('0')).toBe(0);
  });

  it('writes plain decimal text as exactNumberText gives it, or declines', () => {
    const plain = (v: string) => {
      const out = new XmlBytes(new BufferPool());
      return writePlainDecimal(out, v) ? out.buf.toString('latin1', 0, out.pos) : undefined;
    };
    expect(plain('38962.49')).toBe('38962.49');
    expect(plain('-0012.500')).toBe('-12.5');
    expect(plain('.5')).toBe('0.5');
    expect(plain('5.')).toBe('5');
    expect(plain('-0.000')).toBe('0');
    expect(plain('0.000001')).toBe('0.000001');
    expect(plain('0.0000001')).toBeUndefined(); // JavaScript writes 1e-7
    expect(plain('100000000000000000000')).toBe('100000000000000000000');
    expect(plain('1000000000000000000000')).toBeUndefined(); // 1e+21
    expect(plain(`1.${'0'.repeat(200)}`)).toBe('1'); // numeric with a large scale: longer than the scratch
    expect(plain(`-0${'0'.repeat(100)}.25`)).toBe('-0.25');
    for (const v of [
      '+1',
      '1e5',
      'NaN',
      '',
      '-',
      '.',
      '1.2.3',
      '12a',
      '1234567890123456',
      '１２',
      '1٫5',
      '0\u0100',
    ]) {
      expect(plain(v), v).toBeUndefined();
    }
    // Against the general path over random decimals: same text whenever it answers.
    let seed = 12345;
    const next = (k: number) => {
      seed = (seed * 1103515245 + 12345) % 2147483648;
      return seed % k;
    };
    const digits = (k: number) => Array.from({ length: k }, () => '0000123456789'[next(13)]).join('');
    let answered = 0;
    for (let i = 0; i < 20000; i++) {
      const int = digits(next(24));
      const v = `${next(3) === 0 ? '-' : ''}${int}${next(3) === 0 ? '' : `.${digits(next(12))}`}`;
      const mine = plain(v);
      if (mine === undefined) continue;
      answered++;
      expect(mine, v).toBe(exactNumberText(v));
    }
    expect(answered).toBeGreaterThan(10000);
  });

  it('turns numeric text into an Excel number only when it stays exact', () => {
    expect(exactNumberText('12345.67')).toBe('12345.67');
    expect(exactNumberText('+001.500')).toBe('1.5');
    expect(exactNumberText('-0.0')).toBe('0');
    expect(exactNumberText('1e5')).toBe('100000');
    expect(exactNumberText('123456789012345')).toBe('123456789012345');
    expect(exactNumberText('1234567890123456')).toBeUndefined(); // 16 digits: Excel would round
    expect(exactNumberText('0.1234567890123456')).toBeUndefined();
    expect(exactNumberText('1e400')).toBeUndefined();
    expect(exactNumberText('1e-400')).toBeUndefined();
    expect(exactNumberText('12abc')).toBeUndefined();
    expect(exactNumberText('NaN')).toBeUndefined();
  });

  it('writes short decimals exactly, fast path or not', () => {
    for (const v of [0.5, -0.25, 38962.49, 0.000001, 123.456789, 1 / 3, 0.1 + 0.2, -999999999.5]) {
      expect(Number(decimalText(v))).toBe(v);
    }
    expect(decimalText(38962.49)).toBe('38962.49');
    expect(decimalText(-0.05)).toBe('-0.05');
  });
});

describe('date fractions', () => {
  it('writes the time of day to 10 places, exact to the millisecond', () => {
    expect(dayFractionText(0)).toBe('');
    expect(dayFractionText(43_200_000)).toBe('.5');
    expect(dayFractionText(1000)).toBe('.0000115741');
    expect(dayFractionText(86_399_999)).toBe('.9999999884');
    expect(dayFractionText(8_640_000)).toBe('.1'); // only the first five places
    expect(dayFractionText(864)).toBe('.00001'); // only the fifth place
    for (let ms = 0; ms < 86_400_000; ms += 8_639) {
      const units = Math.round((ms * 1e10) / 86_400_000);
      const exact = units === 0 ? '' : `.${String(units).padStart(10, '0').replace(/0+$/, '')}`;
      expect(dayFractionText(ms), `${ms} ms`).toBe(exact);
    }
    for (let i = 0; i < 20_000; i++) {
      const ms = Math.floor(Math.random() * 86_400_000);
      const text = dayFractionText(ms);
      expect(text.length).toBeLessThanOrEqual(11);
      expect(Math.round(Number(`0${text}`) * 86_400_000)).toBe(ms);
    }
  });
});

describe('long text', () => {
  it('cuts to 32,767 characters with a marker, never inside a surrogate pair', () => {
    const cut = truncateText('x'.repeat(40_000));
    expect(cut.length).toBe(32_767);
    expect(cut.endsWith(TRUNCATION_MARKER)).toBe(true);
    const emoji = truncateText('😀'.repeat(20_000));
    expect(emoji.length).toBeLessThanOrEqual(32_767);
    expect(emoji.slice(0, -TRUNCATION_MARKER.length)).toBe(
      '😀'.repeat((emoji.length - TRUNCATION_MARKER.length) / 2),
    );
  });
});

describe('sheet names', () => {
  it('follows Excel rules', () => {
    expect(sanitizeSheetName('Q1/Q2 [draft]: *final?* \\ok', 'S')).toBe('Q1_Q2 _draft__ _final__ _ok');
    expect(sanitizeSheetName("'quoted'", 'S')).toBe('quoted');
    expect(sanitizeSheetName('History', 'S')).toBe('History_');
    expect(sanitizeSheetName('   ', 'Sheet3')).toBe('Sheet3');
    expect(sanitizeSheetName(undefined, 'Sheet1')).toBe('Sheet1');
    expect(sanitizeSheetName('a\u0000b\u0007c', 'S')).toBe('abc');
    const long = sanitizeSheetName(`${'x'.repeat(30)}😀`, 'S');
    expect(long).toBe('x'.repeat(30)); // 31 units would split the emoji
    expect(sanitizeSheetName('y'.repeat(40), 'S')).toHaveLength(31);
  });

  it('makes names unique ignoring case, within 31 characters', () => {
    const names = new SheetNames();
    expect(names.unique('Data')).toBe('Data');
    expect(names.unique('data')).toBe('data (2)');
    expect(names.unique('Data')).toBe('Data (3)');
    const long = 'z'.repeat(31);
    expect(names.unique(long)).toBe(long);
    expect(names.unique(long)).toBe(`${'z'.repeat(27)} (2)`);
  });

  it('quotes names in references', () => {
    expect(quotedSheetRef("Bob's data")).toBe("'Bob''s data'");
  });
});

describe('columns and options', () => {
  it('names columns like Excel', () => {
    expect([0, 25, 26, 51, 52, 701, 702, 16_383].map(columnLetters)).toEqual([
      'A',
      'Z',
      'AA',
      'AZ',
      'BA',
      'ZZ',
      'AAA',
      'XFD',
    ]);
  });

  it('has documented defaults and rejects bad options', () => {
    const s = xlsxSettings({});
    expect(s).toMatchObject({
      level: 2,
      longText: 'truncate',
      header: true,
      freezeHeader: true,
      autoFilter: true,
      escapeFormulas: true,
      formulaEscape: 'quotePrefix',
      maxRowsPerSheet: 1_048_576,
    });
    expect(xlsxSettings({ header: false })).toMatchObject({ freezeHeader: false, autoFilter: false });
    for (const bad of [
      { compressionLevel: 10 },
      { compressionLevel: '6' },
      { longText: 'cut' },
      { widths: { a: 0 } },
      { widths: [10] },
      { sheetName: 5 },
      { maxRowsPerSheet: 1_048_577 },
      { formulaEscape: 'x' },
      { dateFormat: '' },
      { freezeHeader: 'yes' },
    ]) {
      expect(() => xlsxSettings(bad), JSON.stringify(bad)).toThrow(
        expect.objectContaining({ code: 'invalid_option' }),
      );
    }
  });
});
