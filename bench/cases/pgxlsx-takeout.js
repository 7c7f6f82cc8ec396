// PostgreSQL -> XLSX through Takeout's default path (binary COPY, Takeout's XLSX writer).
import { takeoutCase } from '../postgres-support.js';

await takeoutCase(import.meta.url, { format: 'xlsx' });
