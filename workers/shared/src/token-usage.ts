/**
 * The one usage normaliser. Every provider reports token usage in its own dialect; the gateway
 * meters one record, `TokenUsage`, with OpenAI's semantics, and that record (nothing re-derived
 * from it elsewhere) feeds billing's price, the limiter's settle, the `x-gateway-cost-usd` header,
 * the Analytics Engine datapoint and the usage APIs.
 *
 * OpenAI semantics, per kind:
 *   promptTokens      every prompt token: uncached + cache reads + cache writes
 *   cachedTokens      the part of promptTokens read from the provider's prompt cache
 *   cacheWriteTokens  the part of promptTokens written to the provider's prompt cache
 *   completionTokens  every generated token, reasoning/thinking included
 *   reasoningTokens   the part of completionTokens spent on reasoning
 *   totalTokens       promptTokens + completionTokens
 * so every token is counted in exactly one of: uncached input, cached input, cache-write input,
 * output — which is what `costMicros` (pricing.ts) prices, each at its own rate.
 *
 * Dialects (each read here and nowhere else):
 * - OpenAI `usage`: `prompt_tokens` already includes `prompt_tokens_details.cached_tokens` and
 *   `.cache_write_tokens`; `completion_tokens` includes `completion_tokens_details.reasoning_tokens`.
 * - Anthropic `usage`: `input_tokens` EXCLUDES `cache_read_input_tokens` and
 *   `cache_creation_input_tokens`, which are reported beside it, so prompt = the sum of the three;
 *   `output_tokens` includes `output_tokens_details.thinking_tokens`.
 * - Gemini `usageMetadata`: `promptTokenCount` includes `cachedContentTokenCount`; tool-use prompt
 *   tokens (`toolUsePromptTokenCount`) are prompt too; `thoughtsTokenCount` is NOT part of
 *   `candidatesTokenCount` (`totalTokenCount` = prompt + candidates + tool-use prompt + thoughts),
 *   so completion = candidates + thoughts, of which thoughts are the reasoning.
 *
 * Where a provider's answer is observed: model-proxy's adapters turn Anthropic's and Gemini's
 * usage into this record (`usageFromAnthropic` / `usageFromGemini`) and write it on the OpenAI
 * answer with `openAIUsageOf`; the gateway's taps read it back with `usageFromOpenAI` (lossless:
 * `usageFromOpenAI(openAIUsageOf(u))` is `u`, the cache-write count travelling as OpenAI's own
 * `prompt_tokens_details.cache_write_tokens`) — and Anthropic-shaped answers of `/v1/messages` with
 * `usageFromAnthropic`. Streamed and non-streamed answers go through the same functions.
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  cacheWriteTokens: number;
  reasoningTokens: number;
  totalTokens: number;
}

export const ZERO_USAGE: Readonly<TokenUsage> = Object.freeze({
  promptTokens: 0,
  completionTokens: 0,
  cachedTokens: 0,
  cacheWriteTokens: 0,
  reasoningTokens: 0,
  totalTokens: 0,
});

/** A count as reported: a finite number > 0, floored; anything else (absent, null, negative, NaN) is 0. */
const count = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);
const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/**
 * The record from its parts, made consistent: the cache counts are capped at the prompt (reads
 * first) and reasoning at the completion, so a provider reporting odd numbers can never make a
 * token count twice or an uncached count negative.
 */
export function tokenUsage(parts: { prompt: number; completion: number; cached?: number; cacheWrite?: number; reasoning?: number }): TokenUsage {
  const promptTokens = count(parts.prompt);
  const completionTokens = count(parts.completion);
  const cachedTokens = Math.min(count(parts.cached), promptTokens);
  const cacheWriteTokens = Math.min(count(parts.cacheWrite), promptTokens - cachedTokens);
  const reasoningTokens = Math.min(count(parts.reasoning), completionTokens);
  return { promptTokens, completionTokens, cachedTokens, cacheWriteTokens, reasoningTokens, totalTokens: promptTokens + completionTokens };
}

/**
 * OpenAI's `usage` object (chat, completions, embeddings; also what model-proxy's translations
 * write). Null when `raw` is not one. Upstreams differ in the details they report (vLLM has no
 * `prompt_tokens_details`, some omit `total_tokens`): missing counts are 0.
 */
export function usageFromOpenAI(raw: unknown): TokenUsage | null {
  const u = obj(raw);
  if (!u || (u["prompt_tokens"] === undefined && u["completion_tokens"] === undefined && u["total_tokens"] === undefined)) return null;
  const prompt = obj(u["prompt_tokens_details"]);
  const completion = obj(u["completion_tokens_details"]);
  return tokenUsage({
    prompt: count(u["prompt_tokens"]),
    completion: count(u["completion_tokens"]),
    cached: count(prompt?.["cached_tokens"]),
    cacheWrite: count(prompt?.["cache_write_tokens"]),
    reasoning: count(completion?.["reasoning_tokens"]),
  });
}

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

/** Applies a later Anthropic usage report onto an earlier one: present counts replace, absent ones stay. */
export function mergeAnthropicUsage(into: AnthropicUsage, later: AnthropicUsage | null | undefined): AnthropicUsage {
  const out: AnthropicUsage = { ...into };
  for (const [key, value] of Object.entries(later ?? {})) if (value !== null && value !== undefined) out[key] = value;
  return out;
}

/** Anthropic's usage (cache reads and writes reported beside `input_tokens`, not inside it). */
export function usageFromAnthropic(usage: AnthropicUsage | null | undefined): TokenUsage {
  const u = usage ?? {};
  const cached = count(u.cache_read_input_tokens);
  const cacheWrite = count(u.cache_creation_input_tokens);
  return tokenUsage({
    prompt: count(u.input_tokens) + cached + cacheWrite,
    completion: count(u.output_tokens),
    cached,
    cacheWrite,
    reasoning: count(u.output_tokens_details?.thinking_tokens),
  });
}

/** Gemini's `usageMetadata` (the counts the gateway reads; `@google/genai`'s `UsageMetadata`). */
export interface GeminiUsage {
  promptTokenCount?: number;
  candidatesTokenCount?: number;
  totalTokenCount?: number;
  cachedContentTokenCount?: number;
  thoughtsTokenCount?: number;
  toolUsePromptTokenCount?: number;
}

/** Gemini's usage (thoughts outside candidates; cached content inside the prompt count). */
export function usageFromGemini(usage: GeminiUsage | null | undefined): TokenUsage {
  const u = usage ?? {};
  const thoughts = count(u.thoughtsTokenCount);
  return tokenUsage({
    prompt: count(u.promptTokenCount) + count(u.toolUsePromptTokenCount),
    completion: count(u.candidatesTokenCount) + thoughts,
    cached: count(u.cachedContentTokenCount),
    reasoning: thoughts,
  });
}

/** OpenAI's usage object, the shape of the `openai` SDK's `CompletionUsage`. */
export interface OpenAIUsageObject {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details: { cached_tokens: number; cache_write_tokens?: number };
  completion_tokens_details: { reasoning_tokens: number };
}

/**
 * The record as OpenAI's usage object (what a translated answer carries). Cache writes are written
 * as `prompt_tokens_details.cache_write_tokens` (a field of OpenAI's own `CompletionUsage`) when
 * there are any, so the gateway's tap reads back the very record the adapter made.
 */
export function openAIUsageOf(u: TokenUsage): OpenAIUsageObject {
  const promptDetails: OpenAIUsageObject["prompt_tokens_details"] = { cached_tokens: u.cachedTokens };
  if (u.cacheWriteTokens > 0) promptDetails.cache_write_tokens = u.cacheWriteTokens;
  return {
    prompt_tokens: u.promptTokens,
    completion_tokens: u.completionTokens,
    total_tokens: u.totalTokens,
    prompt_tokens_details: promptDetails,
    completion_tokens_details: { reasoning_tokens: u.reasoningTokens },
  };
}

/** Anthropic's usage object as the gateway writes it. */
export interface AnthropicUsageObject extends AnthropicUsage {
  input_tokens: number;
  cache_creation_input_tokens: number;
  cache_read_input_tokens: number;
  output_tokens: number;
  output_tokens_details?: { thinking_tokens: number };
}

/**
 * The record as Anthropic's usage object (`/v1/messages` served by a non-Anthropic provider):
 * `input_tokens` without the cache reads and writes, reasoning as `output_tokens_details.thinking_tokens`
 * when there is any — so `usageFromAnthropic(anthropicUsageOf(u))` is `u`.
 */
export function anthropicUsageOf(u: TokenUsage): AnthropicUsageObject {
  const out: AnthropicUsageObject = {
    input_tokens: u.promptTokens - u.cachedTokens - u.cacheWriteTokens,
    cache_creation_input_tokens: u.cacheWriteTokens,
    cache_read_input_tokens: u.cachedTokens,
    output_tokens: u.completionTokens,
  };
  if (u.reasoningTokens > 0) out.output_tokens_details = { thinking_tokens: u.reasoningTokens };
  return out;
}
