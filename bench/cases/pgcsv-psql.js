// The baseline users would otherwise pick: psql -c "\copy (query) TO file CSV HEADER".
import { psqlCase } from '../postgres-support.js';

await psqlCase(import.meta.url, {
  format: 'csv',
  select: (t) => `SELECT * FROM ${t}`,
  copyOptions: 'CSV HEADER',
});
