/**
 * Token estimates for requests, used to reserve limits and budgets before the upstream answers and
 * to meter a stream the client abandoned before the upstream reported usage. ~4 characters per
 * token is OpenAI's own rule of thumb for English; it errs high for code and CJK is undercounted,
 * which is why reservations are always settled with the upstream's real numbers when it sends them.
 */
const CHARS_PER_TOKEN = 4;
/** Per-message framing tokens OpenAI adds (role, separators). */
const MESSAGE_OVERHEAD = 4;
/** A flat charge per image/audio/file part: the exact cost depends on size and detail. */
const MEDIA_PART_TOKENS = 765;
/** Reserved for the completion when the client sets no max: one typical long answer. */
export const DEFAULT_COMPLETION_RESERVATION = 4096;

export function tokensForText(text: string): number {
  return Math.ceil(text.length / CHARS_PER_TOKEN);
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
      else n += MEDIA_PART_TOKENS;
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

/** Upper bound of completion tokens: the client's max (× choices), or the default reservation. */
export function completionReservation(body: { max_tokens?: unknown; max_completion_tokens?: unknown; n?: unknown; best_of?: unknown }): number {
  const max = body.max_completion_tokens ?? body.max_tokens;
  const perChoice = typeof max === "number" && max >= 0 ? max : DEFAULT_COMPLETION_RESERVATION;
  const choices = Math.max(typeof body.n === "number" ? body.n : 1, typeof body.best_of === "number" ? body.best_of : 1);
  return perChoice * choices;
}
