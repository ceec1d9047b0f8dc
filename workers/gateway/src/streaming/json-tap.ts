import { usageFromOpenAI } from "../../../shared/src/token-usage";
import { emptyObservation, generatedChars, type Observation } from "./observation";

/**
 * Bodies up to this size are parsed whole; for larger ones (big embedding batches) only the last
 * `TAIL_BYTES` are read, where OpenAI-shaped responses put `usage`.
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

/** What a whole JSON body that was read at once tells: its usage and the generated text. */
export function observeJsonBytes(bytes: Uint8Array): Observation {
  const seen = emptyObservation();
  seen.firstByteAt = Date.now();
  if (bytes.byteLength <= WHOLE_LIMIT) return readBody(bytes, seen);
  seen.usage = usageFromOpenAI(usageNearEnd(decoder.decode(bytes.subarray(bytes.byteLength - TAIL_BYTES))));
  return seen;
}

function readBody(bytes: Uint8Array, seen: Observation): Observation {
  try {
    const json = JSON.parse(decoder.decode(bytes)) as { usage?: unknown; choices?: unknown };
    seen.usage = usageFromOpenAI(json.usage);
    if (Array.isArray(json.choices)) for (const c of json.choices) seen.completionChars += generatedChars(c);
  } catch {
    // Truncated or not JSON: usage stays unknown and is estimated.
  }
  return seen;
}
