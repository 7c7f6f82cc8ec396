/** The time limit on the page's short answers. */

/**
 * How long a short answer (a document, a list) may take. A server that hangs or a network
 * that drops packets silently would otherwise leave the page waiting forever, saying nothing:
 * past this it is the `network_error` problem, which the watches retry and the page shows.
 */
export const ANSWER_TIMEOUT_MS = 20_000;

/** `signal`, and the end of ANSWER_TIMEOUT_MS. */
export function answerSignal(signal?: AbortSignal | null): AbortSignal {
  const timeout = AbortSignal.timeout(ANSWER_TIMEOUT_MS);
  if (!signal) return timeout;
  if (typeof AbortSignal.any === 'function') return AbortSignal.any([signal, timeout]);
  // Browsers before AbortSignal.any (Safari < 17.4): the same, by hand.
  const both = new AbortController();
  for (const one of [signal, timeout]) {
    if (one.aborted) both.abort(one.reason);
    else one.addEventListener('abort', () => both.abort(one.reason), { once: true });
  }
  return both.signal;
}
