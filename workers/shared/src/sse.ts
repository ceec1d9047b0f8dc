/**
 * Server-sent events, decoded and encoded incrementally. Provider adapters that must translate a
 * stream (Anthropic, Gemini, the inbound Anthropic endpoint) read upstream bytes as events with
 * `sseEvents()` and write translated events with `formatSse()`; nothing is ever buffered whole, so
 * the first token reaches the client as soon as the upstream sends it.
 *
 * Decoding follows the WHATWG event-stream rules: lines end in CRLF, LF or CR; `data:` lines of one
 * event are joined with "\n"; a single space after the colon is dropped; comment lines (`:`) and
 * unknown fields are ignored; an event is dispatched at a blank line.
 */

export interface SseEvent {
  /** The `event:` field, or null when the event had none (OpenAI and Gemini send none). */
  event: string | null;
  data: string;
  id: string | null;
}

/** Stateful line/event parser; feed it decoded text in any chunking and it yields whole events. */
export class SseParser {
  private buffer = "";
  private event: string | null = null;
  private data: string[] = [];
  private id: string | null = null;
  private sawField = false;

  /** Feeds a piece of text; returns the events completed by it. */
  push(text: string): SseEvent[] {
    this.buffer += text;
    const out: SseEvent[] = [];
    let start = 0;
    for (let i = 0; i < this.buffer.length; i++) {
      const ch = this.buffer.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      // A CR at the very end may be the first half of CRLF: wait for the next chunk to decide.
      if (ch === 13 && i === this.buffer.length - 1) break;
      this.line(this.buffer.slice(start, i), out);
      if (ch === 13 && this.buffer.charCodeAt(i + 1) === 10) i++;
      start = i + 1;
    }
    this.buffer = this.buffer.slice(start);
    return out;
  }

  /** End of input: a final event without its blank line is still dispatched. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.buffer.length > 0) {
      this.line(this.buffer.replace(/\r$/, ""), out);
      this.buffer = "";
    }
    this.dispatch(out);
    return out;
  }

  private line(line: string, out: SseEvent[]): void {
    if (line === "") {
      this.dispatch(out);
      return;
    }
    if (line.startsWith(":")) return;
    const colon = line.indexOf(":");
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? "" : line.slice(colon + 1);
    if (value.startsWith(" ")) value = value.slice(1);
    switch (field) {
      case "event":
        this.event = value;
        this.sawField = true;
        break;
      case "data":
        this.data.push(value);
        this.sawField = true;
        break;
      case "id":
        this.id = value;
        this.sawField = true;
        break;
      default:
        // `retry:` and unknown fields carry nothing an adapter needs.
        break;
    }
  }

  private dispatch(out: SseEvent[]): void {
    if (this.sawField && (this.data.length > 0 || this.event !== null)) {
      out.push({ event: this.event, data: this.data.join("\n"), id: this.id });
    }
    this.event = null;
    this.data = [];
    this.sawField = false;
  }
}

/** Bytes → events, as a stream stage: `body.pipeThrough(sseEvents())`. */
export function sseEvents(): TransformStream<Uint8Array, SseEvent> {
  const decoder = new TextDecoder();
  const parser = new SseParser();
  return new TransformStream<Uint8Array, SseEvent>({
    transform(chunk, controller) {
      for (const event of parser.push(decoder.decode(chunk, { stream: true }))) controller.enqueue(event);
    },
    flush(controller) {
      const tail = decoder.decode();
      for (const event of parser.push(tail)) controller.enqueue(event);
      for (const event of parser.end()) controller.enqueue(event);
    },
  });
}

/** One event on the wire. Multi-line data is split into several `data:` lines, as the spec requires. */
export function formatSse(data: string, event?: string): string {
  const head = event ? `event: ${event}\n` : "";
  return `${head}data: ${data.split(/\r\n|\r|\n/).join("\ndata: ")}\n\n`;
}

/** A JSON payload as one event. */
export function formatSseJson(value: unknown, event?: string): string {
  return formatSse(JSON.stringify(value), event);
}

export const SSE_DONE = "data: [DONE]\n\n";

/** Headers of every event-stream response the gateway produces. */
export const SSE_HEADERS: Record<string, string> = {
  "content-type": "text/event-stream; charset=utf-8",
  "cache-control": "no-cache",
};
