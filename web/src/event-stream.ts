/** Server-sent events read from a fetch body, with a limit on how long a quiet stream may stay quiet. */

export interface ServerEvent {
  /** The event's `id:`, when it has one (what `Last-Event-ID` sends back on a reconnect). */
  id?: string;
  data: string;
}

/** No byte, not even a comment, for longer than allowed: the connection is dead, not closed. */
export class StreamStalled extends Error {
  constructor() {
    super('The event stream went quiet');
    this.name = 'StreamStalled';
  }
}

/** The next chunk, or StreamStalled when nothing came within `ms` (a dead connection never ends by itself). */
async function readWithin<T>(reader: ReadableStreamDefaultReader<T>, ms: number) {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const quiet = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StreamStalled()), ms);
  });
  try {
    return await Promise.race([reader.read(), quiet]);
  } finally {
    clearTimeout(timer);
  }
}

function parseBlock(block: string): ServerEvent {
  let id: string | undefined;
  const data: string[] = [];
  for (const line of block.split('\n')) {
    if (line === '' || line.startsWith(':')) continue; // a comment: the server's keep-alive
    const colon = line.indexOf(':');
    const field = colon < 0 ? line : line.slice(0, colon);
    const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
    if (field === 'data') data.push(value);
    else if (field === 'id' && !value.includes('\0')) id = value;
  }
  return { ...(id !== undefined ? { id } : {}), data: data.join('\n') };
}

/**
 * The stream's events as they arrive, until it ends. Throws StreamStalled when `idleMs` pass
 * without a byte; the body is cancelled however the reading stops.
 */
export async function* serverEvents(
  body: NonNullable<Response['body']>,
  idleMs: number,
): AsyncGenerator<ServerEvent> {
  const reader = body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = '';
  try {
    for (;;) {
      const { value, done } = await readWithin(reader, idleMs);
      if (done) return;
      buffer += value.replace(/\r\n?/g, '\n');
      let end = buffer.indexOf('\n\n');
      while (end >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        end = buffer.indexOf('\n\n');
        yield parseBlock(block);
      }
    }
  } finally {
    reader.cancel().catch(() => {});
  }
}
