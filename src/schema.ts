/**
 * The JSON Schema subset Takeout describes its requests with (draft 2020-12 keywords only),
 * and a small validator for it. The schema is the single description of a request: the
 * parser validates with it and the OpenAPI document can embed it as it is.
 */
export interface JsonSchema {
  type?: 'object' | 'array' | 'string' | 'boolean' | 'integer' | 'number' | 'null';
  description?: string;
  const?: unknown;
  enum?: readonly unknown[];
  minimum?: number;
  maximum?: number;
  exclusiveMinimum?: number;
  minLength?: number;
  maxLength?: number;
  minItems?: number;
  maxItems?: number;
  properties?: Readonly<Record<string, JsonSchema>>;
  required?: readonly string[];
  additionalProperties?: boolean | JsonSchema;
  items?: JsonSchema;
  anyOf?: readonly JsonSchema[];
  allOf?: readonly JsonSchema[];
  if?: JsonSchema;
  then?: JsonSchema;
  /** Only `{ enum }`: values refused by name. */
  not?: { readonly enum: readonly unknown[] };
}

/** Where a value broke its schema: the path of member names and indexes, and why. */
export interface SchemaViolation {
  path: (string | number)[];
  message: string;
  /** Set when the violation is a member the schema does not know. */
  unknownMember?: string;
}

function typeMatches(type: JsonSchema['type'], value: unknown): boolean {
  switch (type) {
    case undefined:
      return true;
    case 'object':
      return typeof value === 'object' && value !== null && !Array.isArray(value);
    case 'array':
      return Array.isArray(value);
    case 'integer':
      return typeof value === 'number' && Number.isInteger(value);
    case 'number':
      return typeof value === 'number' && Number.isFinite(value);
    case 'null':
      return value === null;
    default:
      return typeof value === type;
  }
}

const ARTICLE: Record<string, string> = { object: 'an object', array: 'an array', integer: 'an integer' };

function describeType(type: NonNullable<JsonSchema['type']>): string {
  return ARTICLE[type] ?? (type === 'boolean' ? 'true or false' : `a ${type}`);
}

/** Code points, so that a length limit never counts a surrogate pair twice. */
function lengthOf(text: string): number {
  let n = 0;
  for (const _ of text) n++;
  return n;
}

/** The types a schema allows when it says nothing else (`{ type }`, or `anyOf` of such); else undefined. */
function typesOnly(schema: JsonSchema): JsonSchema['type'][] | undefined {
  const bare = (s: JsonSchema) => s.type !== undefined && Object.keys(s).length === 1;
  if (bare(schema)) return [schema.type];
  if (schema.anyOf && Object.keys(schema).length === 1 && schema.anyOf.every(bare)) {
    return schema.anyOf.map((s) => s.type);
  }
  return undefined;
}

/** The first violation of `schema` by `value`, or undefined when it conforms. */
export function validate(
  schema: JsonSchema,
  value: unknown,
  path: (string | number)[] = [],
): SchemaViolation | undefined {
  const fail = (message: string): SchemaViolation => ({ path, message });
  if (schema.anyOf) {
    const violations = schema.anyOf.map((s) => validate(s, value, path));
    if (violations.some((v) => v === undefined)) return undefined;
    return violations.find((v) => v && v.path.length > path.length) ?? violations[0];
  }
  for (const part of schema.allOf ?? []) {
    const violation = validate(part, value, path);
    if (violation) return violation;
  }
  if (schema.if && schema.then && validate(schema.if, value, path) === undefined) {
    const violation = validate(schema.then, value, path);
    if (violation) return violation;
  }
  if (!typeMatches(schema.type, value)) return fail(`must be ${describeType(schema.type!)}`);
  if (schema.const !== undefined && value !== schema.const)
    return fail(`must be ${JSON.stringify(schema.const)}`);
  if (schema.enum && !schema.enum.includes(value)) {
    return fail(`must be one of: ${schema.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  if (schema.not?.enum?.includes(value)) {
    return fail(`must not be any of: ${schema.not.enum.map((v) => JSON.stringify(v)).join(', ')}`);
  }
  if (typeof value === 'number') {
    if (schema.minimum !== undefined && value < schema.minimum) return fail(`must be >= ${schema.minimum}`);
    if (schema.maximum !== undefined && value > schema.maximum) return fail(`must be <= ${schema.maximum}`);
    if (schema.exclusiveMinimum !== undefined && value <= schema.exclusiveMinimum)
      return fail(`must be > ${schema.exclusiveMinimum}`);
  }
  if (typeof value === 'string') {
    // UTF-16 units bound the code points from above, and half of them from below: most
    // strings are decided without counting.
    const units = value.length;
    if (schema.minLength !== undefined && units < 2 * schema.minLength && lengthOf(value) < schema.minLength)
      return fail(`must have at least ${schema.minLength} characters`);
    if (schema.maxLength !== undefined && units > schema.maxLength && lengthOf(value) > schema.maxLength)
      return fail(`must have at most ${schema.maxLength} characters`);
  }
  if (Array.isArray(value)) {
    if (schema.minItems !== undefined && value.length < schema.minItems)
      return fail(`must have at least ${schema.minItems} items`);
    if (schema.maxItems !== undefined && value.length > schema.maxItems)
      return fail(`must have at most ${schema.maxItems} items`);
    if (schema.items) {
      const types = typesOnly(schema.items);
      for (let i = 0; i < value.length; i++) {
        // Items whose schema only names types (inline rows: objects or arrays) are checked
        // without a path or a violation made per item: a body may hold millions.
        if (types?.some((type) => typeMatches(type, value[i]))) continue;
        const violation = validate(schema.items, value[i], [...path, i]);
        if (violation) return violation;
      }
    }
  }
  if (typeMatches('object', value)) {
    const object = value as Record<string, unknown>;
    for (const name of schema.required ?? []) {
      if (!Object.hasOwn(object, name)) return { path: [...path, name], message: 'is required' };
    }
    for (const name in object) {
      if (!Object.hasOwn(object, name)) continue;
      const member = object[name];
      const known = schema.properties && Object.hasOwn(schema.properties, name);
      const memberSchema = known ? schema.properties![name] : schema.additionalProperties;
      if (memberSchema === false) {
        return { path: [...path, name], message: 'is not a known member', unknownMember: name };
      }
      if (memberSchema === true || memberSchema === undefined) continue;
      const violation = validate(memberSchema, member, [...path, name]);
      if (violation) return violation;
    }
  }
  return undefined;
}

/** `options.delimiter`, `rows[3]`: a path as a reader would write it. */
export function pathText(path: readonly (string | number)[]): string {
  return path
    .map((part, i) =>
      typeof part === 'number'
        ? `[${part}]`
        : /^[A-Za-z_$][\w$]*$/.test(part)
          ? `${i > 0 ? '.' : ''}${part}`
          : `[${JSON.stringify(part).slice(0, 60)}]`,
    )
    .join('');
}
