import type { ApiErrorInit } from "../errors";
import { lastEventEnd, nextEventEnd } from "./sse-frames";

/**
 * Documented limit: the largest SSE event the gateway holds while waiting for its end. Real
 * events are small (a chat chunk is a token or a tool-argument fragment; Anthropic's and Gemini's
 * are alike); an upstream that sends an event which never ends would otherwise grow the isolate
 * until it dies. Above it the stream ends with an error event.
 */
export const MAX_SSE_EVENT_BYTES = 1024 * 1024;

/** The error a stream ends with when one of its events passed `MAX_SSE_EVENT_BYTES`. */
export function sseEventTooLarge(provider: string | null): ApiErrorInit {
  const who = provider ? `provider '${provider}'` : "the provider";
  return { code: "upstream_error", message: `An event in the stream from ${who} grew past ${MAX_SSE_EVENT_BYTES} bytes without ending; the stream was ended.` };
}

const LF = 10;
const CR = 13;

/**
 * Cuts a byte stream into runs of whole SSE events, for code that passes events through and must
 * never cut one. An incomplete event is held as the chunks it arrived in, and each new chunk is
 * searched only for the end of that event (never the held bytes again), so an event split into
 * many chunks costs linear time, not quadratic; it is copied once, when its end arrives. A
 * chunk that ends on an event boundary (the usual case) is returned as it is, without a copy.
 */
export class SseEventSplitter {
  #held: Uint8Array[] = [];
  #heldBytes = 0;
  /** The last two bytes held: an event's blank line may straddle two chunks. */
  #last = -1;
  #beforeLast = -1;
  /** Bytes searched for event ends so far (each byte at most twice): what tests count. */
  scanned = 0;

  constructor(readonly limit = MAX_SSE_EVENT_BYTES) {}

  /**
   * Feeds a chunk. Returns the runs of whole events it completed, in order (each run holds one or
   * more events and ends where an event ends), or null when the held event grew past `limit`
   * without ending: the caller ends the stream.
   */
  push(chunk: Uint8Array): Uint8Array[] | null {
    const runs: Uint8Array[] = [];
    if (chunk.byteLength === 0) return runs;
    let body = chunk;
    if (this.#heldBytes > 0) {
      const end = this.#endOfHeld(chunk);
      if (end === -1) return this.#hold(chunk) ? runs : null;
      if (this.#heldBytes + end > this.limit) return null;
      runs.push(this.#take(chunk.subarray(0, end)));
      body = chunk.subarray(end);
    }
    const n = body.byteLength;
    if (n === 0) return runs;
    const ended = n >= 2 && body[n - 1] === LF && body[n - 2] === LF;
    const end = ended ? n : Math.max(0, lastEventEnd(body));
    this.scanned += ended ? 2 : n - end;
    if (end > 0) runs.push(end === n ? body : body.subarray(0, end));
    if (end < n && !this.#hold(body.subarray(end))) return null;
    return runs;
  }

  /** The bytes held when the stream ended (a last event without its blank line), or null. */
  rest(): Uint8Array | null {
    return this.#heldBytes > 0 ? this.#take(new Uint8Array(0)) : null;
  }

  /** Index just past the blank line that ends the held event, searching only `chunk`; or -1. */
  #endOfHeld(chunk: Uint8Array): number {
    if (this.#last === LF) {
      if (chunk[0] === LF) return 1;
      if (chunk[0] === CR && chunk[1] === LF) return 2;
    } else if (this.#last === CR && this.#beforeLast === LF && chunk[0] === LF) {
      return 1;
    }
    const end = nextEventEnd(chunk, 0);
    this.scanned += end === -1 ? chunk.byteLength : end;
    return end;
  }

  /** Holds `bytes` (no copy); false when the held event is now larger than the limit. */
  #hold(bytes: Uint8Array): boolean {
    this.#held.push(bytes);
    this.#heldBytes += bytes.byteLength;
    const n = bytes.byteLength;
    this.#beforeLast = n >= 2 ? bytes[n - 2]! : this.#last;
    this.#last = bytes[n - 1]!;
    return this.#heldBytes <= this.limit;
  }

  /** The held bytes followed by `tail`, in one copy; nothing is held after. */
  #take(tail: Uint8Array): Uint8Array {
    const out = new Uint8Array(this.#heldBytes + tail.byteLength);
    let at = 0;
    for (const c of this.#held) {
      out.set(c, at);
      at += c.byteLength;
    }
    out.set(tail, at);
    this.#held = [];
    this.#heldBytes = 0;
    this.#last = this.#beforeLast = -1;
    return out;
  }
}
