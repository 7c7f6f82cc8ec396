import { quotedSheetRef } from './names.js';
import { attrText, NS_MAIN, NS_REL, XML_DECLARATION } from './xml.js';

/** A worksheet as the workbook part lists it. */
export interface SheetEntry {
  name: string;
  /** 1-based; the part is `xl/worksheets/sheet<index>.xml`. */
  index: number;
  /** Autofilter range without `$`, e.g. `A1:J100`. */
  filterRef: string | undefined;
}

const NS_PACKAGE_REL = 'http://schemas.openxmlformats.org/package/2006/relationships';
const REL_TYPE = 'http://schemas.openxmlformats.org/officeDocument/2006/relationships';
const CT = 'application/vnd.openxmlformats-officedocument.spreadsheetml';

export function sheetPartName(index: number): string {
  return `xl/worksheets/sheet${index}.xml`;
}

/** `_rels/.rels`: the package's entry point. Known before any row, so it is the first entry. */
export function packageRels(): string {
  return (
    `${XML_DECLARATION}<Relationships xmlns="${NS_PACKAGE_REL}">` +
    `<Relationship Id="rId1" Type="${REL_TYPE}/officeDocument" Target="xl/workbook.xml"/>` +
    '</Relationships>'
  );
}

export function contentTypes(sheets: readonly SheetEntry[]): string {
  const overrides = sheets
    .map((s) => `<Override PartName="/${sheetPartName(s.index)}" ContentType="${CT}.worksheet+xml"/>`)
    .join('');
  return (
    `${XML_DECLARATION}<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">` +
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>' +
    '<Default Extension="xml" ContentType="application/xml"/>' +
    `<Override PartName="/xl/workbook.xml" ContentType="${CT}.sheet.main+xml"/>` +
    `<Override PartName="/xl/styles.xml" ContentType="${CT}.styles+xml"/>` +
    overrides +
    '</Types>'
  );
}

function absoluteRef(ref: string): string {
  return ref.replace(/([A-Z]+)(\d+)/g, '$$$1$$$2');
}

export function workbookXml(sheets: readonly SheetEntry[]): string {
  const list = sheets
    .map((s) => `<sheet name="${attrText(s.name)}" sheetId="${s.index}" r:id="rId${s.index}"/>`)
    .join('');
  // Excel keeps an autofilter's range in this hidden name; it writes one for every filtered sheet.
  const names = sheets
    .map((s, i) =>
      s.filterRef
        ? `<definedName name="_xlnm._FilterDatabase" localSheetId="${i}" hidden="1">${attrText(
            `${quotedSheetRef(s.name)}!${absoluteRef(s.filterRef)}`,
          )}</definedName>`
        : '',
    )
    .join('');
  return (
    `${XML_DECLARATION}<workbook xmlns="${NS_MAIN}" xmlns:r="${NS_REL}">` +
    '<bookViews><workbookView activeTab="0"/></bookViews>' +
    `<sheets>${list}</sheets>` +
    (names ? `<definedNames>${names}</definedNames>` : '') +
    '</workbook>'
  );
}

export function workbookRels(sheets: readonly SheetEntry[]): string {
  const list = sheets
    .map(
      (s) =>
        `<Relationship Id="rId${s.index}" Type="${REL_TYPE}/worksheet" Target="worksheets/sheet${s.index}.xml"/>`,
    )
    .join('');
  return (
    `${XML_DECLARATION}<Relationships xmlns="${NS_PACKAGE_REL}">${list}` +
    `<Relationship Id="rId${sheets.length + 1}" Type="${REL_TYPE}/styles" Target="styles.xml"/>` +
    '</Relationships>'
  );
}
