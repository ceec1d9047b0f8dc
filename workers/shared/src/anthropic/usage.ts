import type { TokenUsage } from "../openai/usage";

/**
 * Anthropic's usage object, as it appears in a Message, in `message_start` and (cumulative, with
 * newer API versions repeating the input counts) in `message_delta`.
 */
export interface AnthropicUsage {
  input_tokens?: number | null;
  output_tokens?: number | null;
  cache_creation_input_tokens?: number | null;
  cache_read_input_tokens?: number | null;
  output_tokens_details?: { thinking_tokens?: number | null } | null;
  [key: string]: unknown;
}

/** Applies a later usage report onto an earlier one: present counts replace, absent ones stay. */
export function mergeAnthropicUsage(into: AnthropicUsage, later: AnthropicUsage | null | undefined): AnthropicUsage {
  const out: AnthropicUsage = { ...into };
  for (const [key, value] of Object.entries(later ?? {})) if (value !== null && value !== undefined) out[key] = value;
  return out;
}

const n = (v: unknown) => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);

/**
 * The gateway's metered usage from Anthropic's counts. Anthropic's `input_tokens` excludes cached
 * tokens; the gateway (like OpenAI) counts every prompt token, with cache reads as `cached`.
 */
export function tokenUsageOfAnthropic(usage: AnthropicUsage): TokenUsage {
  const cached = n(usage.cache_read_input_tokens);
  const promptTokens = n(usage.input_tokens) + cached + n(usage.cache_creation_input_tokens);
  const completionTokens = n(usage.output_tokens);
  return {
    promptTokens,
    completionTokens,
    cachedTokens: cached,
    reasoningTokens: n(usage.output_tokens_details?.thinking_tokens),
    totalTokens: promptTokens + completionTokens,
  };
}
