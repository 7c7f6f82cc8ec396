/**
 * The schema names the PostgreSQL job store takes: lowercase SQL identifiers, which need no
 * quoting rules of their own. Apart from the store so that configuration checks them
 * without loading pg.
 */
export const SCHEMA_IDENTIFIER = /^[a-z_][a-z0-9_]{0,62}$/;

/** What a schema name must be, for the message that refuses one. */
export const SCHEMA_RULE =
  'a lowercase SQL identifier: a-z, 0-9 and _, not starting with a digit, at most 63 characters';
