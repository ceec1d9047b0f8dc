import { modelAllowed } from "../../../shared/src";
import type { BatchEndpoint, BatchLineError } from "./model";

/** At most this many requests per batch (OpenAI's limit). */
export const MAX_BATCH_LINES = 50_000;
/** At most this many bytes per line: one request body, well under the gateway's 4 MiB request limit. */
export const MAX_LINE_BYTES = 1024 * 1024;
/** A batch that fails validation names at most this many offending lines (the rest are counted in the last error). */
export const MAX_REPORTED_ERRORS = 1_000;
const MAX_CUSTOM_ID_CHARS = 512;

export interface ValidLine {
  line: number;
  customId: string;
  /** Byte range of the line in the file (without its newline). */
  offset: number;
  length: number;
}

export interface Validation {
  lines: ValidLine[];
  errors: BatchLineError[];
}

/**
 * Checks every line of a batch input file before any runs: valid JSON, a unique `custom_id`,
 * `method` POST, `url` equal to the batch's endpoint, a `body` object with a `model` the key may
 * use, within the line-size and line-count limits. Reads the file as a stream, one line at a time.
 */
export async function validateLines(body: ReadableStream<Uint8Array>, endpoint: BatchEndpoint, models: string[] | null): Promise<Validation> {
  const errors: BatchLineError[] = [];
  let dropped = 0;
  const fail = (line: number, code: string, message: string, param: string | null = null) => {
    if (errors.length < MAX_REPORTED_ERRORS) errors.push({ code, message, param, line });
    else dropped++;
  };
  const lines: ValidLine[] = [];
  const seen = new Set<string>();
  const decoder = new TextDecoder();
  let lineNo = 0;
  let counted = 0;

  const check = (bytes: Uint8Array, offset: number) => {
    lineNo++;
    let length = bytes.length;
    if (length > 0 && bytes[length - 1] === 0x0d) length--; // CRLF
    if (length === 0) return; // blank lines carry no request
    counted++;
    if (counted > MAX_BATCH_LINES) {
      if (counted === MAX_BATCH_LINES + 1) fail(lineNo, "too_many_requests", `A batch may hold at most ${MAX_BATCH_LINES} requests.`);
      return;
    }
    if (length > MAX_LINE_BYTES) return fail(lineNo, "line_too_large", `This line is larger than ${MAX_LINE_BYTES} bytes.`);
    let value: unknown;
    try {
      value = JSON.parse(decoder.decode(bytes.subarray(0, length)));
    } catch {
      return fail(lineNo, "invalid_json_line", "This line is not valid JSON.");
    }
    if (typeof value !== "object" || value === null || Array.isArray(value)) return fail(lineNo, "invalid_json_line", "This line is not a JSON object.");
    const req = value as Record<string, unknown>;
    const customId = req.custom_id;
    if (typeof customId !== "string" || customId.length === 0 || customId.length > MAX_CUSTOM_ID_CHARS) {
      return fail(lineNo, "missing_required_parameter", `'custom_id' must be a string of 1 to ${MAX_CUSTOM_ID_CHARS} characters.`, "custom_id");
    }
    if (seen.has(customId)) return fail(lineNo, "duplicate_custom_id", "This 'custom_id' is used by an earlier line.", "custom_id");
    seen.add(customId);
    if (req.method !== "POST") return fail(lineNo, "invalid_method", "'method' must be POST.", "method");
    if (req.url !== endpoint) return fail(lineNo, "invalid_url", `'url' must be the batch's endpoint, ${endpoint}.`, "url");
    const reqBody = req.body;
    if (typeof reqBody !== "object" || reqBody === null || Array.isArray(reqBody))
      return fail(lineNo, "missing_required_parameter", "'body' must be an object.", "body");
    const model = (reqBody as Record<string, unknown>).model;
    if (typeof model !== "string" || model.length === 0) return fail(lineNo, "missing_required_parameter", "'body.model' must be a string.", "body.model");
    if (!modelAllowed({ models }, model)) return fail(lineNo, "model_not_allowed", `This API key is not allowed to use the model '${model}'.`, "body.model");
    if ((reqBody as Record<string, unknown>).stream === true) return fail(lineNo, "invalid_request", "Batch requests cannot stream.", "body.stream");
    lines.push({ line: lineNo, customId, offset, length });
  };

  // Split the stream on \n, keeping each line's byte offset; a line longer than the limit is not kept whole.
  const reader = body.getReader();
  let pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let lineStart = 0;
  let position = 0;
  let oversized = false;
  const take = (): Uint8Array => {
    const out = pending.length === 1 ? pending[0]! : concatAll(pending, pendingBytes);
    pending = [];
    pendingBytes = 0;
    return out;
  };
  for (;;) {
    const r = await reader.read();
    if (r.done) break;
    const chunk = r.value;
    let from = 0;
    for (let nl = chunk.indexOf(0x0a); nl !== -1; nl = chunk.indexOf(0x0a, from)) {
      const piece = chunk.subarray(from, nl);
      if (!oversized) {
        pending.push(piece);
        pendingBytes += piece.length;
      }
      const lineBytes = position + nl - lineStart;
      if (oversized || lineBytes > MAX_LINE_BYTES + 1) check(new Uint8Array(MAX_LINE_BYTES + 1), lineStart);
      else check(take(), lineStart);
      pending = [];
      pendingBytes = 0;
      oversized = false;
      lineStart = position + nl + 1;
      from = nl + 1;
    }
    if (from < chunk.length && !oversized) {
      pending.push(chunk.slice(from));
      pendingBytes += chunk.length - from;
      if (pendingBytes > MAX_LINE_BYTES + 1) {
        oversized = true;
        pending = [];
        pendingBytes = 0;
      }
    }
    position += chunk.length;
  }
  if (oversized) check(new Uint8Array(MAX_LINE_BYTES + 1), lineStart);
  else if (pendingBytes > 0) check(take(), lineStart);

  if (dropped > 0) errors.push({ code: "too_many_errors", message: `${dropped} more lines are invalid.`, param: null, line: null });
  if (counted === 0) errors.push({ code: "empty_file", message: "The input file has no requests.", param: null, line: null });
  return { lines, errors };
}

function concatAll(parts: Uint8Array[], total: number): Uint8Array {
  const out = new Uint8Array(total);
  let at = 0;
  for (const p of parts) {
    out.set(p, at);
    at += p.length;
  }
  return out;
}
