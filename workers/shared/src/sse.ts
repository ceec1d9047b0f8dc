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
import { MAX_SSE_EVENT_BYTES } from "./openai/sse-splitter";

export interface SseEvent {
  /** The `event:` field, or null when the event had none (OpenAI and Gemini send none). */
  event: string | null;
  data: string;
  id: string | null;
}

/** Thrown by `SseParser` when one event grows past its limit without ending (the stream is cut). */
export class SseEventTooLargeError extends Error {
  constructor(limit: number) {
    super(`An upstream stream event grew past ${limit} characters without ending.`);
    this.name = "SseEventTooLargeError";
  }
}

/**
 * Stateful line/event parser; feed it decoded text in any chunking and it yields whole events.
 * Only new text is scanned: an unfinished line is kept as the pieces it arrived in and joined once
 * its end comes, so a long line split into many chunks costs linear time. An event whose pending
 * line and data pass `limit` characters (default `MAX_SSE_EVENT_BYTES`) throws
 * `SseEventTooLargeError`.
 */
export class SseParser {
  private partial: string[] = [];
  private partialLength = 0;
  /** The last piece ended in CR: an LF that starts the next one belongs to it (CRLF). */
  private skipLF = false;
  private event: string | null = null;
  private data: string[] = [];
  private dataLength = 0;
  private id: string | null = null;
  private sawField = false;

  constructor(private readonly limit = MAX_SSE_EVENT_BYTES) {}

  /** Feeds a piece of text; returns the events completed by it. */
  push(text: string): SseEvent[] {
    const out: SseEvent[] = [];
    if (text.length === 0) return out;
    let start = this.skipLF && text.charCodeAt(0) === 10 ? 1 : 0;
    this.skipLF = false;
    for (let i = start; i < text.length; i++) {
      const ch = text.charCodeAt(i);
      if (ch !== 10 && ch !== 13) continue;
      const piece = text.slice(start, i);
      const line = this.partial.length > 0 ? this.partial.join("") + piece : piece;
      this.partial = [];
      this.partialLength = 0;
      this.line(line, out);
      if (ch === 13) {
        if (i + 1 === text.length) this.skipLF = true;
        else if (text.charCodeAt(i + 1) === 10) i++;
      }
      start = i + 1;
    }
    if (start < text.length) {
      this.partial.push(text.slice(start));
      this.partialLength += text.length - start;
    }
    if (this.partialLength + this.dataLength > this.limit) throw new SseEventTooLargeError(this.limit);
    return out;
  }

  /** End of input: a final event without its blank line is still dispatched. */
  end(): SseEvent[] {
    const out: SseEvent[] = [];
    if (this.partial.length > 0) {
      this.line(this.partial.join(""), out);
      this.partial = [];
      this.partialLength = 0;
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
        this.dataLength += value.length;
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
    this.dataLength = 0;
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
