/**
 * A streaming `multipart/form-data` reader: each part's body is handed over as a stream while the
 * request is still arriving, so an upload is never held whole in memory (`Request.formData()`
 * would buffer every byte of it). Parts come in order; a handler must read (or cancel) a part's
 * body before the next part is parsed.
 */

export interface MultipartPart {
  name: string;
  filename: string | null;
  contentType: string | null;
  body: ReadableStream<Uint8Array>;
}

export class MultipartError extends Error {}

/** A part's headers are small: a bigger header block is a malformed (or hostile) body. */
const MAX_HEADER_BYTES = 16 * 1024;
const MAX_PARTS = 16;

const encoder = new TextEncoder();
const decoder = new TextDecoder();

/** The boundary of a `multipart/form-data` content type, or null when it is not one. */
export function boundaryOf(contentType: string | null): string | null {
  if (!contentType || !/^multipart\/form-data\s*;/i.test(contentType)) return null;
  const m = /;\s*boundary=(?:"([^"]{1,70})"|([^\s;]{1,70}))/i.exec(contentType);
  return m ? (m[1] ?? m[2] ?? null) : null;
}

function indexOf(haystack: Uint8Array, needle: Uint8Array, from = 0): number {
  const first = needle[0]!;
  for (let i = haystack.indexOf(first, from); i !== -1 && i <= haystack.length - needle.length; i = haystack.indexOf(first, i + 1)) {
    let j = 1;
    while (j < needle.length && haystack[i + j] === needle[j]) j++;
    if (j === needle.length) return i;
  }
  return -1;
}

function concat(a: Uint8Array, b: Uint8Array): Uint8Array {
  if (a.length === 0) return b;
  const out = new Uint8Array(a.length + b.length);
  out.set(a);
  out.set(b, a.length);
  return out;
}

/** Calls `handle` for each part in order, its body streaming from the request. */
export async function forEachPart(body: ReadableStream<Uint8Array>, boundary: string, handle: (part: MultipartPart) => Promise<void>): Promise<void> {
  const reader = body.getReader();
  // The first delimiter has no CRLF before it; pretending one was there makes every delimiter alike.
  let buf: Uint8Array = encoder.encode("\r\n");
  let done = false;
  const delimiter = encoder.encode(`\r\n--${boundary}`);
  const more = async (): Promise<boolean> => {
    if (done) return false;
    const r = await reader.read();
    if (r.done) {
      done = true;
      return false;
    }
    buf = concat(buf, r.value);
    return true;
  };

  // Preamble: everything up to the first delimiter is ignored.
  for (;;) {
    const at = indexOf(buf, delimiter);
    if (at !== -1) {
      buf = buf.subarray(at + delimiter.length);
      break;
    }
    if (buf.length > delimiter.length) buf = buf.subarray(buf.length - delimiter.length);
    if (!(await more())) throw new MultipartError("The multipart body has no boundary line.");
  }

  for (let count = 0; ; count++) {
    while (buf.length < 2) if (!(await more())) throw new MultipartError("The multipart body ended early.");
    if (buf[0] === 0x2d && buf[1] === 0x2d) break; // "--": the closing delimiter
    if (count >= MAX_PARTS) throw new MultipartError(`The multipart body has more than ${MAX_PARTS} parts.`);
    // Headers: up to the blank line.
    let end = indexOf(buf, encoder.encode("\r\n\r\n"));
    while (end === -1) {
      if (buf.length > MAX_HEADER_BYTES) throw new MultipartError("A multipart part's headers are too large.");
      if (!(await more())) throw new MultipartError("The multipart body ended early.");
      end = indexOf(buf, encoder.encode("\r\n\r\n"));
    }
    const headers = parseHeaders(decoder.decode(buf.subarray(0, end)));
    buf = buf.subarray(end + 4);

    let finished = false;
    const partBody = new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          const at = indexOf(buf, delimiter);
          if (at !== -1) {
            if (at > 0) controller.enqueue(buf.slice(0, at));
            buf = buf.subarray(at + delimiter.length);
            finished = true;
            controller.close();
            return;
          }
          // Keep the tail that could be the start of a delimiter; the rest is the part's.
          const safe = buf.length - (delimiter.length - 1);
          if (safe > 0) {
            controller.enqueue(buf.slice(0, safe));
            buf = buf.subarray(safe);
            return;
          }
          if (!(await more())) {
            controller.error(new MultipartError("The multipart body ended inside a part."));
            return;
          }
        }
      },
    });
    await handle({ ...headers, body: partBody });
    if (!finished) {
      // The handler did not read the whole part: skip the rest of it.
      const rest = partBody.getReader();
      while (!(await rest.read()).done);
    }
  }
  await reader.cancel().catch(() => {});
}

function parseHeaders(block: string): Omit<MultipartPart, "body"> {
  let name: string | null = null;
  let filename: string | null = null;
  let contentType: string | null = null;
  for (const line of block.split("\r\n")) {
    const colon = line.indexOf(":");
    if (colon === -1) continue;
    const key = line.slice(0, colon).trim().toLowerCase();
    const value = line.slice(colon + 1).trim();
    if (key === "content-disposition") {
      name = param(value, "name");
      filename = param(value, "filename");
    } else if (key === "content-type") contentType = value;
  }
  if (name === null) throw new MultipartError("A multipart part has no name.");
  return { name, filename, contentType };
}

function param(disposition: string, key: string): string | null {
  const m = new RegExp(`;\\s*${key}="((?:[^"\\\\]|\\\\.)*)"`, "i").exec(disposition) ?? new RegExp(`;\\s*${key}=([^;\\s]+)`, "i").exec(disposition);
  return m ? m[1]!.replace(/\\(.)/g, "$1") : null;
}
