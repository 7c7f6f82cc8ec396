/**
 * `#/exports/<id>`, the link of the "your export is ready" email. Only a well-formed export id
 * is asked for: a mangled link (a bad %-escape, `..`) must not turn into another API path.
 */
const EXPORT_ID = /^exp_[A-Za-z0-9_-]{1,64}$/;

/** The export id the fragment links to; `invalid` when it is a link that names none; undefined: no link. */
export function linkedExportId(hash: string): string | 'invalid' | undefined {
  const match = /^#\/exports\/(.*)$/s.exec(hash);
  if (!match) return undefined;
  let id: string;
  try {
    id = decodeURIComponent(match[1] as string);
  } catch {
    return 'invalid';
  }
  return EXPORT_ID.test(id) ? id : 'invalid';
}

/**
 * Points the address at the export the page follows (without a `hashchange`), so that a reload
 * shows it again; `undefined` takes the pointer away. A fragment that is not an export's link
 * (a token being handed over) is left alone.
 */
export function pointAddressAt(id: string | undefined): void {
  const current = location.hash;
  if (current !== '' && linkedExportId(current) === undefined) return;
  const hash = id === undefined ? '' : `#/exports/${encodeURIComponent(id)}`;
  if (hash !== current)
    history.replaceState(history.state, '', `${location.pathname}${location.search}${hash}`);
}
