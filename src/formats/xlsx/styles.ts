import { attrText, NS_MAIN, XML_DECLARATION } from './xml.js';

/** Number formats Excel knows by id; any other code is declared in styles.xml from id 164. */
const BUILTIN_FORMATS: Record<string, number> = {
  General: 0,
  '0': 1,
  '0.00': 2,
  '#,##0': 3,
  '#,##0.00': 4,
  '0%': 9,
  '0.00%': 10,
  '0.00E+00': 11,
  '@': 49,
};
const FIRST_CUSTOM_FORMAT = 164;

interface CellStyle {
  numFmtId: number;
  bold: boolean;
  quotePrefix: boolean;
}

/** Fixed style ids (indexes into cellXfs). */
export const STYLE_NORMAL = 0;
export const STYLE_HEADER = 1;
/** Header text that looks like a formula: bold and marked as `'`-prefixed text. */
export const STYLE_HEADER_QUOTED = 2;
/** Formula-looking text: Excel's quote prefix keeps it text even when the cell is edited. */
export const STYLE_QUOTED = 3;

/**
 * The workbook's cell styles: a few fixed ones, then one per number format the columns use.
 * Built before the first row (ids go into the sheet XML), written at the end.
 */
export class StyleSheet {
  private readonly styles: CellStyle[] = [
    { numFmtId: 0, bold: false, quotePrefix: false },
    { numFmtId: 0, bold: true, quotePrefix: false },
    { numFmtId: 0, bold: true, quotePrefix: true },
    { numFmtId: 0, bold: false, quotePrefix: true },
  ];
  private readonly customFormats = new Map<string, number>();
  private readonly byFormat = new Map<string, number>();

  /** The style id of cells shown with number format `code`. */
  forFormat(code: string): number {
    let id = this.byFormat.get(code);
    if (id === undefined) {
      let numFmtId = BUILTIN_FORMATS[code];
      if (numFmtId === 0) return STYLE_NORMAL;
      if (numFmtId === undefined) {
        numFmtId = this.customFormats.get(code);
        if (numFmtId === undefined) {
          numFmtId = FIRST_CUSTOM_FORMAT + this.customFormats.size;
          this.customFormats.set(code, numFmtId);
        }
      }
      id = this.styles.length;
      this.styles.push({ numFmtId, bold: false, quotePrefix: false });
      this.byFormat.set(code, id);
    }
    return id;
  }

  xml(): string {
    const formats = [...this.customFormats]
      .map(([code, id]) => `<numFmt numFmtId="${id}" formatCode="${attrText(code)}"/>`)
      .join('');
    const xfs = this.styles
      .map((s) => {
        const attrs =
          `numFmtId="${s.numFmtId}" fontId="${s.bold ? 1 : 0}" fillId="0" borderId="0" xfId="0"` +
          (s.numFmtId !== 0 ? ' applyNumberFormat="1"' : '') +
          (s.bold ? ' applyFont="1"' : '') +
          (s.quotePrefix ? ' quotePrefix="1"' : '');
        return `<xf ${attrs}/>`;
      })
      .join('');
    const font = (bold: boolean) =>
      `<font>${bold ? '<b/>' : ''}<sz val="11"/><color theme="1"/><name val="Calibri"/><family val="2"/><scheme val="minor"/></font>`;
    return (
      `${XML_DECLARATION}<styleSheet xmlns="${NS_MAIN}">` +
      (formats ? `<numFmts count="${this.customFormats.size}">${formats}</numFmts>` : '') +
      `<fonts count="2">${font(false)}${font(true)}</fonts>` +
      '<fills count="2"><fill><patternFill patternType="none"/></fill><fill><patternFill patternType="gray125"/></fill></fills>' +
      '<borders count="1"><border><left/><right/><top/><bottom/><diagonal/></border></borders>' +
      '<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>' +
      `<cellXfs count="${this.styles.length}">${xfs}</cellXfs>` +
      '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>' +
      '</styleSheet>'
    );
  }
}
