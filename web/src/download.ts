/** Saving files: streamed exports arrive as a response body; background ones through their download route. */
import { type JobDocument, problemOf, request } from './api.js';
import { currentToken } from './session.js';

function clickLink(href: string, filename: string): void {
  const link = document.createElement('a');
  link.href = href;
  link.download = filename;
  link.hidden = true;
  document.body.append(link);
  link.click();
  link.remove();
}

/** Hands a file the page holds to the browser's downloads. */
export function saveBlob(blob: Blob, filename: string): void {
  const url = URL.createObjectURL(blob);
  clickLink(url, filename);
  // The download has taken its copy once the click's task ran.
  setTimeout(() => URL.revokeObjectURL(url), 60_000);
}

/** The name in a `Content-Disposition` header (`filename*` first), if any. */
export function filenameOf(disposition: string | null): string | undefined {
  if (!disposition) return undefined;
  const extended = /filename\*\s*=\s*UTF-8''([^;]+)/i.exec(disposition);
  if (extended?.[1]) {
    try {
      return decodeURIComponent(extended[1].trim());
    } catch {
      // fall back to the plain name
    }
  }
  return /filename\s*=\s*"([^"]*)"/i.exec(disposition)?.[1] ?? undefined;
}

/**
 * Downloads a finished export. Without a token the browser follows the download route's 303 to
 * the signed link itself and streams the file to disk. With a token (which a link cannot carry)
 * the page fetches the file and saves it, which holds it in memory first.
 */
export async function downloadJob(job: JobDocument): Promise<void> {
  const filename = job.result?.filename ?? 'export';
  if (!currentToken()) {
    // Checked first: a link to a problem would leave the page for a JSON document.
    const check = await request(job.links.self);
    if (!check.ok) throw await problemOf(check);
    const current = (await check.json()) as JobDocument;
    if (current.status !== 'succeeded') {
      const probe = await request(job.links.download, { redirect: 'manual' });
      if (probe.type !== 'opaqueredirect' && !probe.ok) throw await problemOf(probe);
    }
    clickLink(job.links.download, filename);
    return;
  }
  const response = await request(job.links.download);
  if (!response.ok) throw await problemOf(response);
  saveBlob(await response.blob(), filenameOf(response.headers.get('content-disposition')) ?? filename);
}
