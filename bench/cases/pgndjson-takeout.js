// PostgreSQL -> NDJSON through Takeout's default path (binary COPY, Takeout's NDJSON writer).
import { takeoutCase } from '../postgres-support.js';

await takeoutCase(import.meta.url, { format: 'ndjson' });
