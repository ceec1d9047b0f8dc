import { stripVersion } from "./pricing";

/**
 * How many completion tokens a request may produce, for reservations that must be an upper bound
 * (issue #16 point 4): a budget or TPM reserves every token the upstream could generate.
 *
 * - The client's `max_tokens` / `max_completion_tokens` (× choices) when it set one.
 * - Otherwise the model's documented maximum output (the table below), when every target of the
 *   route is a model listed here — the answer is not changed, only the reservation is large.
 * - Otherwise the gateway sends `DEFAULT_COMPLETION_CAP` upstream as the request's maximum, so the
 *   reservation holds; a longer answer ends with `finish_reason: "length"`. Unlimited keys are
 *   never capped.
 */

/** The highest `max_tokens` (and similar fields) the gateway accepts: above any model's output. */
export const MAX_TOKENS_LIMIT = 1_000_000;

/** Sent upstream as the maximum for a limited key's request without one, to an unlisted model. */
export const DEFAULT_COMPLETION_CAP = 4_096;

/** OpenAI's documented default `max_tokens` of `/v1/completions`; sent explicitly to limited keys' requests. */
export const COMPLETIONS_DEFAULT_MAX_TOKENS = 16;

/**
 * Documented maximum output tokens per model family (versions and `<provider>/` prefixes are
 * stripped before lookup, as for prices). Reasoning models count their reasoning tokens here too.
 */
const MAX_OUTPUT: Readonly<Record<string, number>> = {
  "gpt-3.5-turbo": 4_096,
  "gpt-4-turbo": 4_096,
  "gpt-4o": 16_384,
  "gpt-4o-mini": 16_384,
  "gpt-4.1": 32_768,
  "gpt-4.1-mini": 32_768,
  "gpt-4.1-nano": 32_768,
  "gpt-5": 128_000,
  "gpt-5-mini": 128_000,
  "gpt-5-nano": 128_000,
  o1: 100_000,
  o3: 100_000,
  "o3-mini": 100_000,
  "o4-mini": 100_000,
  "claude-3-haiku": 4_096,
  "claude-3-opus": 4_096,
  "claude-3-5-haiku": 8_192,
  "claude-3-5-sonnet": 8_192,
  "claude-3-7-sonnet": 64_000,
  "claude-sonnet-4": 64_000,
  "claude-sonnet-4-5": 64_000,
  "claude-haiku-4-5": 64_000,
  "claude-opus-4": 32_000,
  "claude-opus-4-1": 32_000,
  "gemini-1.5-flash": 8_192,
  "gemini-1.5-pro": 8_192,
  "gemini-2.0-flash": 8_192,
  "gemini-2.5-flash": 65_536,
  "gemini-2.5-pro": 65_536,
};

/** The documented maximum output of an upstream model name, or null when it is not listed. */
export function maxOutputTokens(model: string): number | null {
  let name = model.toLowerCase();
  const slash = name.lastIndexOf("/");
  if (slash >= 0) name = name.slice(slash + 1);
  return MAX_OUTPUT[name] ?? MAX_OUTPUT[stripVersion(name) ?? ""] ?? null;
}
