/**
 * The `Prefer` request header (RFC 7240) as the export route reads it: `respond-async`
 * forces a background job, `wait=N` waits up to N seconds for a quick job to finish.
 * Unknown preferences are ignored, as the RFC asks.
 */
export interface Preferences {
  respondAsync: boolean;
  /** Seconds to wait for the job to finish before answering; 0 when not asked. */
  waitSeconds: number;
}

/** The longest wait honoured: longer ones are capped (proxies cut idle requests). */
export const MAX_PREFER_WAIT_SECONDS = 60;

export function parsePrefer(header: string | string[] | undefined): Preferences {
  const prefs: Preferences = { respondAsync: false, waitSeconds: 0 };
  const values = Array.isArray(header) ? header : header ? [header] : [];
  for (const value of values) {
    for (const item of value.split(',')) {
      // Parameters after `;` qualify a preference; none of ours has any.
      const [token = ''] = item.split(';');
      const [name = '', raw] = token.split('=').map((s) => s.trim());
      if (name.toLowerCase() === 'respond-async') prefs.respondAsync = true;
      if (name.toLowerCase() === 'wait' && raw !== undefined) {
        const seconds = Number(raw.replace(/^"|"$/g, ''));
        if (Number.isFinite(seconds) && seconds > 0) {
          prefs.waitSeconds = Math.min(MAX_PREFER_WAIT_SECONDS, Math.floor(seconds));
        }
      }
    }
  }
  return prefs;
}
