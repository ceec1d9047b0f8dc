import { describe, expect, it } from "vitest";
import subset from "../../../../test/fixtures/litellm/model-prices-subset.json?raw";
import { parseExactJson } from "../../../shared/src/exact-json";
import { readLiteLLMPrices } from "./litellm-prices";

const read = (text: string) => readLiteLLMPrices(parseExactJson(text));

describe("readLiteLLMPrices", () => {
  it("converts per-token USD to integer µ$ per 1M tokens and names rows as the seed prices are", () => {
    const result = read(subset);
    if (!result.ok) throw new Error(result.error.message);
    const { prices, windows, skipped, unsupported, rounded } = result.value;
    expect(prices).toEqual([
      {
        model: "gpt-4o-mini",
        provider: "openai",
        input_per_mtok_micros: 150_000,
        output_per_mtok_micros: 600_000,
        cached_input_per_mtok_micros: 75_000,
        cache_write_per_mtok_micros: null,
      },
      {
        model: "o4-mini",
        provider: "openai",
        input_per_mtok_micros: 1_100_000,
        output_per_mtok_micros: 4_400_000,
        cached_input_per_mtok_micros: 275_000,
        cache_write_per_mtok_micros: null,
      },
      {
        model: "text-embedding-3-small",
        provider: "openai",
        input_per_mtok_micros: 20_000,
        output_per_mtok_micros: 0,
        cached_input_per_mtok_micros: null,
        cache_write_per_mtok_micros: null,
      },
      {
        model: "claude-sonnet-4-5",
        provider: "anthropic",
        input_per_mtok_micros: 3_000_000,
        output_per_mtok_micros: 15_000_000,
        cached_input_per_mtok_micros: 300_000,
        cache_write_per_mtok_micros: 3_750_000,
      },
      {
        model: "gemini-2.5-flash",
        provider: "gemini",
        input_per_mtok_micros: 300_000,
        output_per_mtok_micros: 2_500_000,
        cached_input_per_mtok_micros: 30_000,
        cache_write_per_mtok_micros: null,
      },
      {
        model: "groq/llama-3.3-70b-versatile",
        provider: "groq",
        input_per_mtok_micros: 590_000,
        output_per_mtok_micros: 790_000,
        cached_input_per_mtok_micros: null,
        cache_write_per_mtok_micros: null,
      },
    ]);
    expect(windows).toEqual([
      { model: "gpt-4o-mini", max_input_tokens: 128_000, max_output_tokens: 16_384 },
      { model: "o4-mini", max_input_tokens: 200_000, max_output_tokens: 100_000 },
      { model: "text-embedding-3-small", max_input_tokens: 8191, max_output_tokens: 8191 },
      { model: "claude-sonnet-4-5", max_input_tokens: 200_000, max_output_tokens: 64_000 },
      { model: "gemini-2.5-flash", max_input_tokens: 1_048_576, max_output_tokens: 65_535 },
      { model: "groq/llama-3.3-70b-versatile", max_input_tokens: 128_000, max_output_tokens: 32_768 },
    ]);
    expect(skipped.map((s) => s.path)).toEqual([
      '"sample_spec"',
      '"gemini-2.5-flash"',
      '"dall-e-3"',
      '"whisper-1"',
      '"bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0"',
    ]);
    expect(skipped[1]!.reason).toContain("vertex_ai-language-models");
    expect(skipped[2]!.reason).toContain("image_generation");
    expect(unsupported.map((u) => u.path)).toEqual([
      '"gpt-4o-mini".input_cost_per_token_batches',
      '"gpt-4o-mini".output_cost_per_token_batches',
      '"claude-sonnet-4-5".cache_creation_input_token_cost_above_1hr',
      '"claude-sonnet-4-5".input_cost_per_token_above_200k_tokens',
      '"claude-sonnet-4-5".output_cost_per_token_above_200k_tokens',
      '"gemini/gemini-2.5-flash".input_cost_per_audio_token',
    ]);
    expect(unsupported[2]!.reason).toContain("1-hour cache");
    expect(unsupported[3]!.reason).toContain("long-context");
    expect(rounded).toEqual([]);
  });

  it("reports a reasoning price other than the output price, rounds sub-unit prices up, and skips duplicates", () => {
    const result = read(`{
      "r1": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-09, "output_cost_per_token": 2.0000000000001e-06, "output_cost_per_reasoning_token": 3e-06},
      "openai/r1": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-06, "output_cost_per_token": 1e-06}
    }`);
    if (!result.ok) throw new Error(result.error.message);
    expect(result.value.prices).toEqual([
      {
        model: "r1",
        provider: "openai",
        input_per_mtok_micros: 1000,
        output_per_mtok_micros: 2_000_001,
        cached_input_per_mtok_micros: null,
        cache_write_per_mtok_micros: null,
      },
    ]);
    expect(result.value.unsupported).toEqual([{ path: '"r1".output_cost_per_reasoning_token', reason: expect.stringContaining("output price") }]);
    expect(result.value.rounded).toEqual(['"r1".output_cost_per_token']);
    expect(result.value.skipped).toEqual([{ path: '"openai/r1"', reason: expect.stringContaining("same price row 'r1'") }]);
  });

  it("refuses a bad entry with a 400 naming its path", () => {
    const cases: [string, string][] = [
      ['{"m": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": "0.001", "output_cost_per_token": 0}}', '"m".input_cost_per_token'],
      ['{"m": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": -1e-6, "output_cost_per_token": 0}}', '"m".input_cost_per_token'],
      ['{"m": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1, "output_cost_per_token": 0}}', '"m".input_cost_per_token'],
      [
        '{"m": {"litellm_provider": "openai", "mode": "chat", "input_cost_per_token": 1e-6, "output_cost_per_token": 0, "max_input_tokens": 1.5}}',
        '"m".max_input_tokens',
      ],
      ['{"m": {"litellm_provider": 7}}', '"m".litellm_provider'],
      ['{"m": []}', '"m"'],
      ["[]", "$"],
    ];
    for (const [text, path] of cases) {
      const result = read(text);
      expect(result.ok, text).toBe(false);
      if (!result.ok) expect(result.error).toMatchObject({ code: "invalid_request", param: path, message: expect.stringContaining(path) });
    }
  });
});
