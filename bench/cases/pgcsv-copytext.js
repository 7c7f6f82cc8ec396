// PostgreSQL -> CSV through the opt-in text passthrough (`copy: true`: PostgreSQL's own CSV
// streamed into the file), in psql's dialect (LF, no formula escaping) so that it does the
// same work as psql's \copy.
import { takeoutCase } from '../postgres-support.js';

await takeoutCase(import.meta.url, {
  format: 'csv',
  source: { copy: true },
  options: { lineEnding: '\n', escapeFormulas: false },
});
