import { errorBody, type ApiErrorInit } from "../errors";

/**
 * SSE framing on raw bytes, for code that passes a stream through and must only cut it between
 * events (never inside one): finding event ends costs a byte scan, with no decoding and no copy of
 * what passes. Events end with a blank line; LF and CRLF line endings are recognised (OpenAI and
 * every compatible server use one of them).
 */

const LF = 10;
const CR = 13;

/** Index just past the blank line that ends the first event in `buf[from..]`, or -1. */
export function nextEventEnd(buf: Uint8Array, from = 0): number {
  let i = buf.indexOf(LF, from);
  while (i !== -1) {
    const next = buf[i + 1];
    if (next === LF) return i + 2;
    if (next === CR && buf[i + 2] === LF) return i + 3;
    i = buf.indexOf(LF, i + 1);
  }
  return -1;
}

/** Index just past the last complete event in `buf`, or -1 when it holds none. */
export function lastEventEnd(buf: Uint8Array): number {
  for (let i = buf.length - 1; i >= 1; i = buf.lastIndexOf(LF, i - 1)) {
    if (buf[i] !== LF) continue;
    if (buf[i - 1] === LF) return i + 1;
    if (buf[i - 1] === CR && i >= 3 && buf[i - 2] === LF && buf[i - 3] === CR) return i + 1;
  }
  return -1;
}

export function concatBytes(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.byteLength === 0) return b;
  if (b.byteLength === 0) return a;
  const out = new Uint8Array(a.byteLength + b.byteLength);
  out.set(a, 0);
  out.set(b, a.byteLength);
  return out;
}

const encoder = new TextEncoder();

/**
 * The event that ends a stream which failed mid-way: OpenAI's error object as a `data:` line. The
 * official SDKs raise it as an APIError from the stream iterator (openai-node: a data event with
 * an `error` key throws), so a broken stream is never a silent truncation.
 */
export function sseErrorEvent(init: ApiErrorInit): Uint8Array {
  return encoder.encode(`data: ${JSON.stringify(errorBody(init))}\n\n`);
}

export const SSE_DONE_BYTES: Uint8Array = encoder.encode("data: [DONE]\n\n");
