import { describe, expect, it } from "vitest";
import openaiReasoning from "../../../test/fixtures/openai/chat-reasoning.json";
import anthropicThinking from "../../../test/fixtures/anthropic/message-thinking.json";
import anthropicThinkingStream from "../../../test/fixtures/anthropic/stream-thinking.sse?raw";
import anthropicText from "../../../test/fixtures/anthropic/message-text.json";
import geminiText from "../../../test/fixtures/google/generate-text.json";
import geminiTextStream from "../../../test/fixtures/google/stream-text.sse?raw";
import { costMicros, type Price } from "./pricing";
import {
  anthropicUsageOf,
  mergeAnthropicUsage,
  openAIUsageOf,
  tokenUsage,
  usageFromAnthropic,
  usageFromGemini,
  usageFromOpenAI,
  type AnthropicUsage,
  type GeminiUsage,
  type TokenUsage,
} from "./token-usage";

/** The `data:` payloads of an SSE text (LF or CRLF framing). */
const sseData = (text: string): Record<string, unknown>[] =>
  text
    .split(/\r?\n/)
    .filter((line) => line.startsWith("data:"))
    .map((line) => JSON.parse(line.slice(5)) as Record<string, unknown>);

/** Anthropic's stream usage as a client accumulates it: message_start, then each cumulative message_delta. */
function anthropicStreamUsage(text: string): AnthropicUsage {
  let usage: AnthropicUsage = {};
  for (const event of sseData(text)) {
    if (event["type"] === "message_start") usage = mergeAnthropicUsage(usage, (event["message"] as { usage: AnthropicUsage }).usage);
    if (event["type"] === "message_delta") usage = mergeAnthropicUsage(usage, event["usage"] as AnthropicUsage);
  }
  return usage;
}

/** Gemini's stream usage: `usageMetadata` is cumulative, the last one is the stream's. */
const geminiStreamUsage = (text: string): GeminiUsage =>
  sseData(text)
    .map((e) => e["usageMetadata"] as GeminiUsage | undefined)
    .filter((u) => u !== undefined)
    .at(-1)!;

/** A price with every rate distinct, so a token billed at the wrong rate, twice or never changes the total. */
const PRICE: Price = {
  model: "m",
  provider: null,
  input_per_mtok_micros: 3_000_000, // $3.00 / 1M
  cached_input_per_mtok_micros: 300_000, // $0.30 / 1M
  cache_write_per_mtok_micros: 3_750_000, // $3.75 / 1M (1.25× input, Anthropic's 5-minute premium)
  output_per_mtok_micros: 15_000_000, // $15.00 / 1M
};

/**
 * The documented price rule (pricing.ts), written out here by hand so the expectations do not come
 * from the function under test: each token kind once, at its own rate, rounded up once.
 */
const byRule = (t: { uncached: number; cached: number; cacheWrite: number; output: number }) =>
  Math.ceil((t.uncached * 3_000_000 + t.cached * 300_000 + t.cacheWrite * 3_750_000 + t.output * 15_000_000) / 1_000_000);

describe("the one usage normaliser: each provider's fixture becomes one record, billed once per kind", () => {
  it("OpenAI: cached tokens inside prompt_tokens, reasoning inside completion_tokens (chat-reasoning.json)", () => {
    const u = openaiReasoning.usage;
    const record = usageFromOpenAI(openaiReasoning.completion.usage)!;
    expect(record).toEqual({
      promptTokens: u.prompt_tokens,
      completionTokens: u.completion_tokens,
      cachedTokens: u.prompt_tokens_details.cached_tokens,
      cacheWriteTokens: 0,
      reasoningTokens: u.completion_tokens_details.reasoning_tokens,
      totalTokens: u.prompt_tokens + u.completion_tokens,
    });
    // The stream's trailing usage chunk carries the same object: the same record.
    expect(usageFromOpenAI(u)).toEqual(record);
    // 1312 prompt of which 1152 cached; 203 completion of which 192 reasoning (billed as output once).
    const expected = byRule({ uncached: 1312 - 1152, cached: 1152, cacheWrite: 0, output: 203 });
    // 160 × $3 + 1152 × $0.30 + 203 × $15 per 1M tokens = 480 + 345.6 + 3045 = 3870.6 µ$ → 3871.
    expect(expected).toBe(3871);
    expect(costMicros(PRICE, record)).toBe(expected);
  });

  it("Anthropic: cache reads and writes reported beside input_tokens are added to the prompt; thinking inside output (message-thinking.json / stream-thinking.sse)", () => {
    const u = anthropicThinking.usage;
    const record = usageFromAnthropic(u);
    const prompt = u.input_tokens + u.cache_read_input_tokens + u.cache_creation_input_tokens;
    expect(record).toEqual({
      promptTokens: prompt,
      completionTokens: u.output_tokens,
      cachedTokens: u.cache_read_input_tokens,
      cacheWriteTokens: u.cache_creation_input_tokens,
      reasoningTokens: u.output_tokens_details.thinking_tokens,
      totalTokens: prompt + u.output_tokens,
    });
    expect(usageFromAnthropic(anthropicStreamUsage(anthropicThinkingStream))).toEqual(record);
    // 21 uncached × $3 + 2048 reads × $0.30 + 1024 writes × $3.75 + 212 output × $15, per 1M tokens:
    // 63 + 614.4 + 3840 + 3180 = 7697.4 µ$ → 7698.
    const expected = byRule({
      uncached: u.input_tokens,
      cached: u.cache_read_input_tokens,
      cacheWrite: u.cache_creation_input_tokens,
      output: u.output_tokens,
    });
    expect(expected).toBe(7698);
    expect(costMicros(PRICE, record)).toBe(expected);
    // Without a cache-write price, writes cost the input price: 1045 × $3 + 614.4 + 3180 = 6929.4 µ$ → 6930.
    expect(costMicros({ ...PRICE, cache_write_per_mtok_micros: null }, record)).toBe(byRule({ uncached: 21 + 1024, cached: 2048, cacheWrite: 0, output: 212 }));
    expect(byRule({ uncached: 21 + 1024, cached: 2048, cacheWrite: 0, output: 212 })).toBe(6930);
  });

  it("Anthropic without thinking (message-text.json): cache writes still their own kind", () => {
    const record = usageFromAnthropic(anthropicText.usage);
    expect(record).toMatchObject({ promptTokens: 21 + 2048 + 1024, cachedTokens: 2048, cacheWriteTokens: 1024, completionTokens: 12, reasoningTokens: 0 });
    expect(costMicros(PRICE, record)).toBe(byRule({ uncached: 21, cached: 2048, cacheWrite: 1024, output: 12 }));
  });

  it("Gemini: cachedContentTokenCount inside the prompt; thoughtsTokenCount outside candidates, added to the output once (generate-text.json / stream-text.sse)", () => {
    const u = geminiText.usageMetadata;
    const record = usageFromGemini(u);
    expect(record).toEqual({
      promptTokens: u.promptTokenCount,
      completionTokens: u.candidatesTokenCount + u.thoughtsTokenCount,
      cachedTokens: u.cachedContentTokenCount,
      cacheWriteTokens: 0,
      reasoningTokens: u.thoughtsTokenCount,
      totalTokens: u.totalTokenCount,
    });
    expect(usageFromGemini(geminiStreamUsage(geminiTextStream))).toEqual(record);
    // 9 prompt of which 4 cached; 7 candidates + 30 thoughts: 5 × 3 + 4 × 0.3 + 37 × 15 = 571.2 µ$ → 572.
    const expected = byRule({ uncached: u.promptTokenCount - u.cachedContentTokenCount, cached: u.cachedContentTokenCount, cacheWrite: 0, output: 7 + 30 });
    expect(expected).toBe(572);
    expect(costMicros(PRICE, record)).toBe(expected);
  });

  it("crosses the wire losslessly: OpenAI's object (cache_write_tokens in prompt_tokens_details) and Anthropic's read back to the same record", () => {
    const records: TokenUsage[] = [
      usageFromAnthropic(anthropicThinking.usage),
      usageFromGemini(geminiText.usageMetadata),
      usageFromOpenAI(openaiReasoning.usage)!,
    ];
    for (const r of records) {
      expect(usageFromOpenAI(openAIUsageOf(r))).toEqual(r);
      expect(usageFromAnthropic(anthropicUsageOf(r))).toEqual(r);
    }
    expect(openAIUsageOf(records[0]!).prompt_tokens_details).toEqual({ cached_tokens: 2048, cache_write_tokens: 1024 });
    expect(openAIUsageOf(records[1]!).prompt_tokens_details).toEqual({ cached_tokens: 4 });
  });

  it("caps odd counts so no token is counted twice: cache reads, then writes, within the prompt; reasoning within the completion", () => {
    expect(tokenUsage({ prompt: 10, completion: 5, cached: 8, cacheWrite: 8, reasoning: 9 })).toEqual({
      promptTokens: 10,
      completionTokens: 5,
      cachedTokens: 8,
      cacheWriteTokens: 2,
      reasoningTokens: 5,
      totalTokens: 15,
    });
    expect(usageFromOpenAI({ prompt_tokens: -3, completion_tokens: Number.NaN, prompt_tokens_details: null })).toEqual({
      promptTokens: 0,
      completionTokens: 0,
      cachedTokens: 0,
      cacheWriteTokens: 0,
      reasoningTokens: 0,
      totalTokens: 0,
    });
    expect(usageFromOpenAI({ id: "not usage" })).toBeNull();
    expect(usageFromAnthropic(null).totalTokens).toBe(0);
    expect(usageFromGemini(undefined).totalTokens).toBe(0);
  });
});
