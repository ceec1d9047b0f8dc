import { readUsage } from "../../../shared/src/openai";
import { emptyObservation, generatedChars, type Observation } from "./observation";

/**
 * Bodies up to this size are kept whole (a copy; the client already got every byte) and parsed
 * once at the end; larger ones (big embedding batches) keep only their last `TAIL_BYTES`, where
 * OpenAI-shaped responses put `usage`.
 */
const WHOLE_LIMIT = 8 * 1024 * 1024;
const TAIL_BYTES = 64 * 1024;

const decoder = new TextDecoder();

/** `"usage":{…}` nearest the end of `text`, as an object (braces balanced, strings respected). */
export function usageNearEnd(text: string): unknown {
  const re = /"usage"\s*:\s*\{/g;
  let start = -1;
  for (let m = re.exec(text); m; m = re.exec(text)) start = m.index + m[0].length - 1;
  if (start < 0) return null;
  let depth = 0;
  let inString = false;
  for (let i = start; i < text.length; i++) {
    const ch = text[i];
    if (inString) {
      if (ch === "\\") i++;
      else if (ch === '"') inString = false;
    } else if (ch === '"') inString = true;
    else if (ch === "{") depth++;
    else if (ch === "}" && --depth === 0) {
      try {
        return JSON.parse(text.slice(start, i + 1));
      } catch {
        return null;
      }
    }
  }
  return null;
}

function concat(chunks: Uint8Array[], size: number): Uint8Array {
  const out = new Uint8Array(size);
  let at = 0;
  for (const c of chunks) {
    out.set(c, at);
    at += c.byteLength;
  }
  return out;
}

/**
 * Reads a JSON response body the client is receiving through the other branch of a `tee()`:
 * the client's branch stays a native pass-through (no JavaScript per chunk on its path), and this
 * branch is read after the fact for `usage` (and, when the upstream reported none, the generated
 * text). Bodies over WHOLE_LIMIT keep only their last TAIL_BYTES.
 */
export async function observeJson(body: ReadableStream<Uint8Array>): Promise<Observation> {
  const seen = emptyObservation();
  const chunks: Uint8Array[] = [];
  let size = 0;
  let whole = true;
  const reader = body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      seen.firstByteAt ??= Date.now();
      chunks.push(value);
      size += value.byteLength;
      if (size > WHOLE_LIMIT) whole = false;
      if (!whole) while (chunks.length > 1 && size - chunks[0]!.byteLength >= TAIL_BYTES) size -= chunks.shift()!.byteLength;
    }
  } catch {
    seen.upstreamError = true;
  }
  const bytes = concat(chunks, size);
  if (whole) return readBody(bytes, seen);
  seen.usage = readUsage(usageNearEnd(decoder.decode(bytes)));
  return seen;
}

/** What a whole JSON body that was read at once tells: its usage and the generated text. */
export function observeJsonBytes(bytes: Uint8Array): Observation {
  const seen = emptyObservation();
  seen.firstByteAt = Date.now();
  return readBody(bytes, seen);
}

function readBody(bytes: Uint8Array, seen: Observation): Observation {
  try {
    const json = JSON.parse(decoder.decode(bytes)) as { usage?: unknown; choices?: unknown };
    seen.usage = readUsage(json.usage);
    if (Array.isArray(json.choices)) for (const c of json.choices) seen.completionChars += generatedChars(c);
  } catch {
    // Truncated or not JSON: usage stays unknown and is estimated.
  }
  return seen;
}
