/**
 * The scale harness's export requests: mixed sizes, formats and datasets, spread over the
 * owners. Every request of `series` and `wide` (test/support/jobs-deployment.ts) yields
 * exactly `n` rows, which is what each downloaded file is checked against.
 */

export const FORMATS = ['csv', 'tsv', 'xlsx', 'json', 'ndjson'] as const;
export type Format = (typeof FORMATS)[number];

export interface PlannedExport {
  owner: number;
  dataset: 'series' | 'wide';
  format: Format;
  rows: number;
}

export interface WorkloadShape {
  requests: number;
  owners: number;
  /** How many of the requests are large (50,000 to 200,000 rows). */
  large: number;
  /** ... and medium (5,000 to 20,000). The rest are small (up to 2,000 rows). */
  medium: number;
}

/** Rows of a large export by format: XLSX is the CPU-heavy one, kept smaller. */
const LARGE_ROWS: Record<Format, number> = {
  csv: 200_000,
  tsv: 150_000,
  ndjson: 150_000,
  json: 100_000,
  xlsx: 50_000,
};

const between = (low: number, high: number) => low + Math.floor(Math.random() * (high - low + 1));

export function planWorkload(shape: WorkloadShape): PlannedExport[] {
  const planned: PlannedExport[] = [];
  for (let i = 0; i < shape.requests; i++) {
    const format = FORMATS[i % FORMATS.length]!;
    const size = i < shape.large ? 'large' : i < shape.large + shape.medium ? 'medium' : 'small';
    const rows =
      size === 'large' ? LARGE_ROWS[format] : size === 'medium' ? between(5_000, 20_000) : between(1, 2_000);
    planned.push({
      owner: i % shape.owners,
      // The wide dataset (nine columns) in one request of three.
      dataset: i % 3 === 2 ? 'wide' : 'series',
      format,
      rows,
    });
  }
  // Shuffled, so the large exports do not all start first.
  for (let i = planned.length - 1; i > 0; i--) {
    const j = Math.floor(Math.random() * (i + 1));
    [planned[i], planned[j]] = [planned[j]!, planned[i]!];
  }
  return planned;
}
