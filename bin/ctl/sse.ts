// A server-sent events reader (WHATWG HTML "Server-sent events", event stream interpretation): lines, fields,
// comments and dispatch on a blank line, over any stream of byte chunks.

export interface SseEvent {
  /** The `id` field of this event, if it had one. */
  id?: string;
  /** The `event` field; "message" when absent. */
  event: string;
  data: string;
}

export async function* readSse(chunks: AsyncIterable<Uint8Array>): AsyncGenerator<SseEvent> {
  const decoder = new TextDecoder();
  let buffer = '';
  let id: string | undefined;
  let event = '';
  let data: string[] = [];
  for await (const chunk of chunks) {
    buffer += decoder.decode(chunk, { stream: true });
    // A trailing \r may be the first half of a \r\n split across chunks: it waits for the next chunk.
    const held = buffer.endsWith('\r') ? '\r' : '';
    const lines = buffer.slice(0, buffer.length - held.length).split(/\r\n|\r|\n/);
    buffer = lines.pop()! + held;
    for (const line of lines) {
      if (line === '') {
        if (data.length > 0) yield { ...(id === undefined ? {} : { id }), event: event || 'message', data: data.join('\n') };
        id = undefined;
        event = '';
        data = [];
        continue;
      }
      if (line.startsWith(':')) continue; // a comment (keep-alive)
      const colon = line.indexOf(':');
      const field = colon === -1 ? line : line.slice(0, colon);
      const value = colon === -1 ? '' : line.slice(colon + 1).replace(/^ /, '');
      if (field === 'data') data.push(value);
      else if (field === 'event') event = value;
      else if (field === 'id' && !value.includes('\0')) id = value;
    }
  }
}
