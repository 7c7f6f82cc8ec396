/** Saving files: streamed exports arrive as a response body; background ones through a signed link. */
import { getJson, type JobDocument } from './api.js';

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
 * Downloads a finished export: the page asks the API for a freshly signed link as JSON
 * (`links.link`, with the token, which a link cannot carry) and hands the link to the browser, which
 * streams the file to disk from wherever it is kept (this server, or S3 on another origin,
 * which the page itself may not fetch). A problem (not finished, expired) is thrown. `signal`
 * gives up on it (a sign-out): no link comes, nothing is saved.
 */
export async function downloadJob(job: JobDocument, signal?: AbortSignal): Promise<void> {
  const link = await getJson<{ url: string }>(job.links.link, signal ? { signal } : {});
  if (signal?.aborted) return;
  clickLink(link.url, job.result?.filename ?? 'export');
}
