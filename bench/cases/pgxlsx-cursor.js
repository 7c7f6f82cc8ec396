// PostgreSQL -> XLSX through the cursor reader.
import { takeoutCase } from '../postgres-support.js';

await takeoutCase(import.meta.url, { format: 'xlsx', source: { reader: 'cursor' } });
