import { TakeoutError } from '../errors.js';
import type { FormatWriter } from '../types.js';

/**
 * The formats a service offers, by name. A value, not a module-level table: each service
 * (and each test) holds its own, so two services in one process can offer different formats.
 */
export class FormatRegistry {
  private readonly byName = new Map<string, FormatWriter>();

  constructor(formats: Iterable<FormatWriter> = []) {
    for (const format of formats) this.add(format);
  }

  /** Adds a format; a name given twice is a configuration mistake. */
  add(format: FormatWriter): this {
    const name = format.name.toLowerCase();
    if (this.byName.has(name)) {
      throw new TakeoutError('config_error', `The format ${JSON.stringify(format.name)} is registered twice`);
    }
    this.byName.set(name, format);
    return this;
  }

  /** How many formats there are (formats are only ever added). */
  get size(): number {
    return this.byName.size;
  }

  names(): string[] {
    return [...this.byName.keys()];
  }

  all(): FormatWriter[] {
    return [...this.byName.values()];
  }

  /** The format called `name` (case-insensitive), else `unknown_format` listing the known ones. */
  get(name: unknown): FormatWriter {
    const format = typeof name === 'string' ? this.byName.get(name.toLowerCase()) : undefined;
    if (!format) {
      const names = this.names();
      throw new TakeoutError(
        'unknown_format',
        `Unknown format ${JSON.stringify(name)?.slice(0, 40)}; use one of: ${names.join(', ')}`,
        { details: { formats: names } },
      );
    }
    return format;
  }
}
