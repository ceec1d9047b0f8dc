/**
 * Token estimates for requests, used to reserve limits and budgets before the upstream answers and
 * to meter a stream the client abandoned before the upstream reported usage. A reservation must be
 * an upper bound, so the rules err high; settlement replaces them with the upstream's real numbers.
 *
 * Text: ASCII characters count 4 to a token (OpenAI's rule of thumb for English; code and
 * punctuation are denser but rarely exceed it), and every other character counts one token per
 * byte of its UTF-8 encoding (2 for Cyrillic, Greek, Arabic, Hebrew; 3 for CJK, Devanagari, Thai;
 * 4 for emoji). Byte-level BPE tokenizers (OpenAI, Anthropic, Llama) and byte-fallback ones
 * (Gemini) never make more tokens than bytes, so non-Latin text is never under-counted.
 *
 * Images, audio and files: counted from their size — the strings they carry (a base64 payload or
 * `data:` URL, a file name) at the text rule — and at least `MEDIA_PART_TOKENS` each, which is
 * also what a part by https URL or file id counts (its size is unknown here).
 */
const ASCII_CHARS_PER_TOKEN = 4;
/** Per-message framing tokens OpenAI adds (role, separators). */
const MESSAGE_OVERHEAD = 4;
/** The least an image/audio/file part counts (a high-detail image tile set on OpenAI). */
export const MEDIA_PART_TOKENS = 765;

const NON_ASCII = /[^\x00-\x7f]/;

export function tokensForText(text: string): number {
  // Most prompts are ASCII: one native scan instead of a loop over every character.
  if (!NON_ASCII.test(text)) return Math.ceil(text.length / ASCII_CHARS_PER_TOKEN);
  let ascii = 0;
  let bytes = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 0x80) ascii++;
    else if (c < 0x800) bytes += 2;
    // Each half of a surrogate pair: the pair is one 4-byte code point.
    else if (c >= 0xd800 && c <= 0xdfff) bytes += 2;
    else bytes += 3;
  }
  return Math.ceil(ascii / ASCII_CHARS_PER_TOKEN) + bytes;
}

/**
 * The text rule over every string inside a part (its inline data, URL, file name…) except the
 * `type` discriminators, bounded in depth.
 */
function stringTokens(value: unknown, depth = 0): number {
  if (typeof value === "string") return tokensForText(value);
  if (depth > 4 || !value || typeof value !== "object") return 0;
  let n = 0;
  if (Array.isArray(value)) for (const v of value) n += stringTokens(v, depth + 1);
  else for (const [k, v] of Object.entries(value)) if (k !== "type") n += stringTokens(v, depth + 1);
  return n;
}

/** An image, audio or file part: from the size of what it carries, at least the flat minimum. */
export function mediaPartTokens(part: unknown, minimum = MEDIA_PART_TOKENS): number {
  return Math.max(minimum, stringTokens(part));
}

function contentTokens(content: unknown): number {
  if (typeof content === "string") return tokensForText(content);
  if (!Array.isArray(content)) return 0;
  let n = 0;
  for (const part of content) {
    if (part && typeof part === "object") {
      const p = part as Record<string, unknown>;
      if (typeof p["text"] === "string") n += tokensForText(p["text"]);
      else if (typeof p["refusal"] === "string") n += tokensForText(p["refusal"]);
      else n += mediaPartTokens(p);
    }
  }
  return n;
}

/** Estimated prompt tokens of a chat request: messages, plus tool definitions sent as text. */
export function estimateChatPromptTokens(body: { messages?: unknown; tools?: unknown; functions?: unknown }): number {
  let n = 0;
  if (Array.isArray(body.messages)) {
    for (const m of body.messages) {
      n += MESSAGE_OVERHEAD;
      if (m && typeof m === "object") {
        const msg = m as Record<string, unknown>;
        n += contentTokens(msg["content"]);
        if (msg["tool_calls"] !== undefined) n += tokensForText(JSON.stringify(msg["tool_calls"]));
      }
    }
  }
  if (body.tools !== undefined) n += tokensForText(JSON.stringify(body.tools));
  if (body.functions !== undefined) n += tokensForText(JSON.stringify(body.functions));
  return n;
}

/** Estimated tokens of a prompt/input that may be text, texts, token ids or arrays of token ids. */
export function estimateInputTokens(input: unknown): number {
  if (typeof input === "string") return tokensForText(input);
  if (!Array.isArray(input)) return 0;
  let n = 0;
  for (const item of input) {
    if (typeof item === "string") n += tokensForText(item);
    else if (typeof item === "number") n += 1;
    else if (Array.isArray(item)) n += item.length;
  }
  return n;
}

/**
 * What a request asks of the completion: the client's maximum per choice (null when it set none)
 * and the number of choices generated (n, or best_of on `/v1/completions`).
 */
export interface CompletionAsk {
  maxPerChoice: number | null;
  choices: number;
}

export function completionAsk(body: { max_tokens?: unknown; max_completion_tokens?: unknown; n?: unknown; best_of?: unknown }): CompletionAsk {
  const max = body.max_completion_tokens ?? body.max_tokens;
  return {
    maxPerChoice: typeof max === "number" && max >= 0 ? max : null,
    choices: Math.max(typeof body.n === "number" ? body.n : 1, typeof body.best_of === "number" ? body.best_of : 1),
  };
}
