import { TakeoutError } from '../errors.js';

/**
 * A job record keeps the request as JSON, and PostgreSQL's jsonb cannot hold U+0000 nor an
 * unpaired UTF-16 surrogate: refused on every store alike, as bad input (they were a
 * retryable 503 on PostgreSQL only).
 */
export function refuseUnstorable(request: object, key: string | undefined): void {
  if (holdsUnstorable(request) || (key !== undefined && unstorable(key))) {
    throw new TakeoutError(
      'invalid_request',
      'A background export cannot keep the character U+0000 (NUL) or an unpaired UTF-16 surrogate in its request or idempotency key; remove it',
    );
  }
}

/** U+0000, or a surrogate without its other half. */
const UNSTORABLE = /\u0000|[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/;

function unstorable(text: string): boolean {
  return UNSTORABLE.test(text);
}

/** Whether any string or key in `value` is unstorable; iterative, for any depth of nesting. */
function holdsUnstorable(value: unknown): boolean {
  const stack: unknown[] = [value];
  while (stack.length > 0) {
    const v = stack.pop();
    if (typeof v === 'string') {
      if (unstorable(v)) return true;
    } else if (typeof v === 'object' && v !== null) {
      for (const [k, item] of Object.entries(v)) {
        if (unstorable(k)) return true;
        stack.push(item);
      }
    }
  }
  return false;
}
