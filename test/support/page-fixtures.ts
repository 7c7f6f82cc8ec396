/** Export documents as the API writes them (src/http/jobs/document.ts), for route fixtures of the page's tests. */

/** The `links` of the export `id`. */
export function exportLinks(id: string) {
  const self = `/v1/exports/${id}`;
  return {
    self,
    events: `${self}/events`,
    download: `${self}/download`,
    link: `${self}/link`,
    cancel: `${self}/cancel`,
  };
}

/** A finished CSV export of 60 rows, its file kept until 2099. */
export function readyExport(id: string) {
  return {
    id,
    status: 'succeeded',
    dataset: 'orders',
    format: 'csv',
    created_at: '2024-05-02T10:00:00Z',
    finished_at: '2024-05-02T10:01:00Z',
    expires_at: '2099-01-01T00:00:00Z',
    progress: { rows_written: 60, bytes_written: 2048 },
    result: { filename: 'orders.csv', content_type: 'text/csv', size_bytes: 2048, row_count: 60 },
    links: exportLinks(id),
  };
}
