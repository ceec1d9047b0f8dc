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
 * The gateway's view into a JSON response: chunks go to the client as they arrive, a copy is kept
 * to read `usage` (and, when the upstream reported none, the generated text) after the last byte.
 */
export function tapJson(body: ReadableStream<Uint8Array>, onEnd: (observation: Observation) => void): ReadableStream<Uint8Array> {
  const reader = body.getReader();
  const seen = emptyObservation();
  let chunks: Uint8Array[] = [];
  let size = 0;
  let whole = true;
  let ended = false;

  const finish = () => {
    if (ended) return;
    ended = true;
    const bytes = concat(chunks, chunks.reduce((n, c) => n + c.byteLength, 0));
    chunks = [];
    const text = decoder.decode(bytes);
    if (whole) {
      try {
        const json = JSON.parse(text) as { usage?: unknown; choices?: unknown };
        seen.usage = readUsage(json.usage);
        if (Array.isArray(json.choices)) for (const c of json.choices) seen.completionChars += generatedChars(c);
      } catch {
        // Truncated (client gone) or not JSON: usage stays unknown and is estimated.
      }
    } else {
      seen.usage = readUsage(usageNearEnd(text));
    }
    onEnd(seen);
  };

  const keep = (chunk: Uint8Array) => {
    chunks.push(chunk);
    size += chunk.byteLength;
    if (size > WHOLE_LIMIT || !whole) {
      whole = false;
      // Keep only the last TAIL_BYTES.
      while (chunks.length > 1 && size - chunks[0]!.byteLength >= TAIL_BYTES) size -= chunks.shift()!.byteLength;
    }
  };

  return new ReadableStream<Uint8Array>(
    {
      async pull(controller) {
        let result: ReadableStreamReadResult<Uint8Array>;
        try {
          result = await reader.read();
        } catch (err) {
          seen.upstreamError = true;
          finish();
          controller.error(err);
          return;
        }
        if (result.done) {
          controller.close();
          finish();
          return;
        }
        seen.firstByteAt ??= Date.now();
        keep(result.value);
        controller.enqueue(result.value);
      },
      cancel(reason) {
        seen.aborted = true;
        finish();
        return reader.cancel(reason);
      },
    },
    { highWaterMark: 0 },
  );
}
