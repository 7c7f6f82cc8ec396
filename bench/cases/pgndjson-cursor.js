// PostgreSQL -> NDJSON through the cursor reader.
import { takeoutCase } from '../postgres-support.js';

await takeoutCase(import.meta.url, { format: 'ndjson', source: { reader: 'cursor' } });
