/**
 * Refuses option keys a library function does not know. JavaScript callers (and TypeScript
 * ones passing a wider object) would otherwise have a typo such as `lockDuration` ignored,
 * and run on the default without a word.
 */
import { didYouMean } from './did-you-mean.js';
import { TakeoutError } from './errors.js';

/** Throws `config_error` naming the first key of `options` that is not in `known`. */
export function refuseUnknownOptions(what: string, options: object, known: readonly string[]): void {
  for (const key of Object.keys(options)) {
    if (known.includes(key)) continue;
    throw new TakeoutError(
      'config_error',
      `${what} has no option ${JSON.stringify(key).slice(0, 60)}${didYouMean(key, known)}; known: ${known.join(', ')}`,
      { details: { option: key } },
    );
  }
}
