/**
 * Token usage as the gateway meters it, read from an OpenAI-shaped `usage` object. Upstreams
 * differ in which details they report (vLLM has no `prompt_tokens_details`, some omit
 * `total_tokens`), so every field is read defensively and missing ones count as 0.
 */
export interface TokenUsage {
  promptTokens: number;
  completionTokens: number;
  cachedTokens: number;
  reasoningTokens: number;
  totalTokens: number;
}

export const ZERO_USAGE: TokenUsage = Object.freeze({ promptTokens: 0, completionTokens: 0, cachedTokens: 0, reasoningTokens: 0, totalTokens: 0 });

const count = (v: unknown): number => (typeof v === "number" && Number.isFinite(v) && v > 0 ? Math.floor(v) : 0);
const obj = (v: unknown): Record<string, unknown> | undefined =>
  v !== null && typeof v === "object" && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;

/** Normalises an OpenAI `usage` object; returns null when `raw` is not one. */
export function readUsage(raw: unknown): TokenUsage | null {
  const u = obj(raw);
  if (!u || (u["prompt_tokens"] === undefined && u["completion_tokens"] === undefined && u["total_tokens"] === undefined)) return null;
  const promptTokens = count(u["prompt_tokens"]);
  const completionTokens = count(u["completion_tokens"]);
  const cachedTokens = count(obj(u["prompt_tokens_details"])?.["cached_tokens"]);
  const reasoningTokens = count(obj(u["completion_tokens_details"])?.["reasoning_tokens"]);
  const totalTokens = count(u["total_tokens"]) || promptTokens + completionTokens;
  return { promptTokens, completionTokens, cachedTokens, reasoningTokens, totalTokens };
}
