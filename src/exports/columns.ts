import { didYouMean } from '../did-you-mean.js';
import { TakeoutError } from '../errors.js';
import type { Column, ColumnSpec } from '../types.js';

/**
 * Applies request columns to a dataset's columns: a request may pick, reorder and rename
 * the dataset's columns, never add new ones.
 */
export function pickColumns(
  available: readonly Column[] | undefined,
  requested: ColumnSpec[] | undefined,
): ColumnSpec[] | undefined {
  if (!requested || !available) return requested ?? available?.slice();
  const byKey = new Map(available.map((c) => [c.key, c]));
  return requested.map((spec, i) => {
    const key = typeof spec === 'string' ? spec : (spec as Column | null)?.key;
    const known = typeof key === 'string' ? byKey.get(key) : undefined;
    if (!known) {
      const keys = [...byKey.keys()];
      const named = typeof key === 'string' ? ` ${JSON.stringify(key.slice(0, 60))}` : '';
      const listed = keys.length > 20 ? `${keys.slice(0, 20).join(', ')}, ...` : keys.join(', ');
      throw new TakeoutError(
        'invalid_columns',
        `columns[${i}]${named} is not a column of this dataset${typeof key === 'string' ? didYouMean(key, keys) : ''}; its columns: ${listed}`,
        { details: { columns: keys } },
      );
    }
    return typeof spec === 'string' ? known : { ...known, ...(spec as Column) };
  });
}
