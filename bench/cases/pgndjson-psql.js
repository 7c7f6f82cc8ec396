// psql's \copy of one row_to_json() per row: CSV format with a quote and delimiter that never
// occur, so the JSON text is written as is (the usual way to get NDJSON out of psql).
import { psqlCase } from '../postgres-support.js';

await psqlCase(import.meta.url, {
  format: 'ndjson',
  select: (t) => `SELECT row_to_json(r) FROM ${t} r`,
  copyOptions: "WITH (FORMAT csv, QUOTE E'\\x01', DELIMITER E'\\x02')",
});
