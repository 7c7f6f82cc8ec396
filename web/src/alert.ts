/** The page's one error area (role=alert): a sentence, the server's detail, the code for support. */
import { ApiError, type Problem } from './api.js';
import { detailFor, sentenceFor } from './messages.js';

const area = () => document.getElementById('alert') as HTMLElement;

export function problemFrom(error: unknown): Problem {
  if (error instanceof ApiError) return error.problem;
  return { status: 0, code: 'internal', detail: error instanceof Error ? error.message : String(error) };
}

/**
 * A problem that may go away by itself: the server unreachable, restarting, overloaded or
 * failing for a moment (a 5xx, a proxy's 502/504 too), or too many requests for a while
 * (429). What watches exports keeps trying through it, as long as its `Retry-After` asks. A
 * 5xx the server marks not retryable (its configuration, a closed service) is not waited out.
 */
export function isTransient(problem: Problem): boolean {
  return (
    problem.code === 'network_error' ||
    problem.status === 429 ||
    (problem.status >= 500 && problem.status < 600 && problem.retryable !== false)
  );
}

/** `paramLabel`: a parameter's label in the form, to name it by (undefined: no such field). */
export function showError(error: unknown, paramLabel?: (param: string) => string | undefined): void {
  const problem = problemFrom(error);
  // Marked so that the next answer from the server can take it away again.
  area().dataset.transient = isTransient(problem) ? 'true' : '';
  const sentence = document.createElement('p');
  sentence.textContent = sentenceFor(problem);
  const code = document.createElement('p');
  code.className = 'code';
  const detail = detailFor(problem, paramLabel);
  code.append(`${detail && detail !== sentence.textContent ? `${detail} · ` : ''}Code for support: `);
  const codeText = document.createElement('code');
  codeText.textContent = problem.code;
  code.append(codeText);
  // The same problem again (each retry of a watch and of the list): a live region that is
  // rebuilt is read out again, so it stays as it is.
  const text = `${sentence.textContent}${code.textContent}`;
  if (!area().hidden && area().textContent === text) return;
  area().replaceChildren(sentence, code);
  area().hidden = false;
}

export function clearError(): void {
  area().hidden = true;
  area().replaceChildren();
}

/** Takes a transient problem away (the server answers again); any other stays for the user. */
export function clearTransientError(): void {
  if (area().dataset.transient === 'true') clearError();
}
