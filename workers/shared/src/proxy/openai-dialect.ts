import { usageFromOpenAI } from "../token-usage";
import { SSE_DONE_BYTES, sseErrorEvent } from "../openai/sse-frames";
import { emptyObservation, generatedChars, type Observation } from "./observation";
import type { SseInspector } from "./sse-pump";

const decoder = new TextDecoder();
const encoder = new TextEncoder();

// Inside JSON strings quotes are escaped, so these unescaped patterns can only be members.
const USAGE_OBJECT = /"usage"\s*:\s*\{/;
const ERROR_MEMBER = /"error"\s*:/;
const FINISHED = /"finish_reason"\s*:\s*"/;
const NULL_USAGE = /"usage"\s*:\s*null/;
const GENERATED = /"(?:content|refusal|reasoning_content|reasoning|arguments|text)"\s*:\s*"/g;

/**
 * Characters of generated text in a chunk's JSON, without parsing it: the lengths of its
 * content/refusal/reasoning/arguments/text string values (escapes count as written; this feeds
 * estimates only, for streams whose upstream never reported usage).
 */
export function generatedCharsIn(json: string): number {
  let n = 0;
  GENERATED.lastIndex = 0;
  for (let m = GENERATED.exec(json); m; m = GENERATED.exec(json)) {
    let i = GENERATED.lastIndex;
    const start = i;
    while (i < json.length && json.charCodeAt(i) !== 34) i += json.charCodeAt(i) === 92 ? 2 : 1;
    n += i - start;
    GENERATED.lastIndex = i + 1;
  }
  return n;
}

/**
 * The event text without its top-level `"usage":null` member, or null if it has none in the
 * compact form servers write. Inside JSON strings quotes are escaped, so the unescaped sequence
 * can only be a member name; this edits the bytes without re-serialising the chunk.
 */
export function withoutNullUsage(text: string): string | null {
  const after = text.replace(/,\s*"usage"\s*:\s*null(?=\s*[,}])/, "");
  if (after !== text) return after;
  const before = text.replace(/"usage"\s*:\s*null\s*,\s*/, "");
  return before !== text ? before : null;
}

/** The `data` of one SSE event (its `data:` lines joined), or null if it has none. */
function dataOf(event: string): string | null {
  if (event.startsWith("data: ") && event.indexOf("\n") === event.length - 2) return event.slice(6, -2); // OpenAI's one-line event
  let data: string | null = null;
  for (const raw of event.split(/\r?\n/)) {
    if (!raw.startsWith("data:")) continue;
    const v = raw.charCodeAt(5) === 32 ? raw.slice(6) : raw.slice(5);
    data = data === null ? v : `${data}\n${v}`;
  }
  return data;
}

/**
 * OpenAI's chunk streams (chat, completions), for the SSE pump. Each event is read for usage (the
 * one normaliser, token-usage.ts), generated content and error events; most events are one content
 * delta and are read by scanning, without building the object — only events that may carry usage
 * or an error are parsed. With `stripUsageChunk` (model-proxy asked the upstream for usage on the
 * gateway's behalf; the client did not) the usage-only chunk is dropped and the `"usage":null`
 * members it made the upstream add are cut from the bytes. A stream ends with `[DONE]` (added if an
 * upstream that finished its choices omitted it) or an error event.
 */
export function openAIInspector(options: { stripUsageChunk: boolean }): SseInspector {
  const strip = options.stripUsageChunk;
  let sawDone = false;
  let sawFinish = false;
  return {
    inspect(bytes, seen) {
      const text = decoder.decode(bytes);
      const data = dataOf(text);
      if (data === null) return bytes;
      if (data === "[DONE]") {
        sawDone = true;
        return bytes;
      }
      if (!USAGE_OBJECT.test(data) && !ERROR_MEMBER.test(data)) {
        const chars = generatedCharsIn(data);
        if (chars > 0) {
          seen.completionChars += chars;
          seen.contentEvents++;
        }
        if (FINISHED.test(data)) sawFinish = true;
        if (strip && NULL_USAGE.test(data)) {
          const cleaned = withoutNullUsage(text);
          if (cleaned !== null) return encoder.encode(cleaned);
        }
        return bytes;
      }
      let chunk: Record<string, unknown>;
      try {
        chunk = JSON.parse(data) as Record<string, unknown>;
      } catch {
        return bytes;
      }
      if (!chunk || typeof chunk !== "object") return bytes;
      if (chunk["error"]) seen.upstreamError = true;
      const usage = chunk["usage"] ? usageFromOpenAI(chunk["usage"]) : null;
      if (usage) seen.usage = usage;
      const choices = chunk["choices"];
      if (Array.isArray(choices)) {
        if (choices.length === 0 && usage && strip) return null;
        for (const choice of choices) {
          const chars = generatedChars(choice);
          if (chars > 0) {
            seen.completionChars += chars;
            seen.contentEvents++;
          }
          if ((choice as { finish_reason?: unknown } | null)?.finish_reason) sawFinish = true;
        }
      }
      // Asking for usage made the upstream add `"usage":null` to every chunk; the client did not ask.
      if (strip && chunk["usage"] === null) {
        const cleaned = withoutNullUsage(text);
        if (cleaned !== null) return encoder.encode(cleaned);
      }
      return bytes;
    },
    closing() {
      if (sawDone) return "complete";
      return sawFinish ? SSE_DONE_BYTES : "broken";
    },
    errorEvent: sseErrorEvent,
  };
}

/**
 * Bodies up to this size are parsed whole; for larger ones (big embedding batches) only the last
 * `TAIL_BYTES` are read, where OpenAI-shaped responses put `usage`.
 */
const WHOLE_LIMIT = 8 * 1024 * 1024;
const TAIL_BYTES = 64 * 1024;

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

/** What a whole OpenAI JSON answer that was read at once tells: its usage and the generated text. */
export function observeOpenAIJson(bytes: Uint8Array): Observation {
  const seen = emptyObservation();
  seen.firstByteAt = Date.now();
  if (bytes.byteLength > WHOLE_LIMIT) {
    seen.usage = usageFromOpenAI(usageNearEnd(decoder.decode(bytes.subarray(bytes.byteLength - TAIL_BYTES))));
    return seen;
  }
  try {
    const json = JSON.parse(decoder.decode(bytes)) as { usage?: unknown; choices?: unknown };
    seen.usage = usageFromOpenAI(json.usage);
    if (Array.isArray(json.choices)) for (const c of json.choices) seen.completionChars += generatedChars(c);
  } catch {
    // Truncated or not JSON: usage stays unknown and is estimated.
  }
  return seen;
}
