import { describe, expect, it } from "vitest";
import { costMicros, formatUsd, microsToUsdString, monthOf, nextMonthStart, PriceBook, usdToMicros, worstCaseCostMicros, type Price } from "./pricing";

const price = (
  model: string,
  input: number,
  output: number,
  cached: number | null = null,
  provider: string | null = null,
  cacheWrite: number | null = null,
): Price => ({
  model,
  provider,
  input_per_mtok_micros: input,
  output_per_mtok_micros: output,
  cached_input_per_mtok_micros: cached,
  cache_write_per_mtok_micros: cacheWrite,
});

describe("costMicros", () => {
  const mini = price("gpt-4o-mini", 150_000, 600_000, 75_000);

  it("charges uncached prompt, cached prompt and completion at their own rates, in integer micro-dollars", () => {
    // 800 × 0.15 + 200 × 0.075 + 500 × 0.6 = 120 + 15 + 300.
    expect(costMicros(mini, { promptTokens: 1000, cachedTokens: 200, completionTokens: 500 })).toBe(435);
  });

  it("rounds up once per request, so a request is never under-charged by a fraction", () => {
    expect(costMicros(mini, { promptTokens: 1, cachedTokens: 0, completionTokens: 0 })).toBe(1);
    expect(costMicros(mini, { promptTokens: 0, cachedTokens: 0, completionTokens: 0 })).toBe(0);
  });

  it("charges cache reads at the input price when the model has no cache price, and caps them at the prompt", () => {
    const gpt4 = price("gpt-4", 30_000_000, 60_000_000);
    expect(costMicros(gpt4, { promptTokens: 100, cachedTokens: 100, completionTokens: 0 })).toBe(3000);
    expect(costMicros(mini, { promptTokens: 100, cachedTokens: 5000, completionTokens: 0 })).toBe(8);
  });

  it("ignores negative or non-finite counts instead of producing negative costs", () => {
    expect(costMicros(mini, { promptTokens: -5, cachedTokens: Number.NaN, completionTokens: -1 })).toBe(0);
  });

  it("worst case is every prompt token uncached plus every allowed completion token, never below the actual cost", () => {
    const worst = worstCaseCostMicros(mini, 1000, 1000);
    expect(worst).toBe(750);
    for (const [p, c, k] of [
      [1000, 1000, 0],
      [1000, 10, 900],
      [3, 999, 1],
    ] as const) {
      expect(costMicros(mini, { promptTokens: p, completionTokens: c, cachedTokens: k })).toBeLessThanOrEqual(worst);
    }
  });

  it("charges cache writes at their own (premium) rate, the input rate when the model has none, and caps them after the reads", () => {
    // Anthropic Sonnet: $3 input, $0.30 reads, $3.75 writes, $15 output per 1M tokens.
    const sonnet = price("claude-sonnet-4-5", 3_000_000, 15_000_000, 300_000, "anthropic", 3_750_000);
    // 100 uncached × 3 + 200 reads × 0.3 + 400 writes × 3.75 + 10 × 15 = 300 + 60 + 1500 + 150.
    expect(costMicros(sonnet, { promptTokens: 700, cachedTokens: 200, cacheWriteTokens: 400, completionTokens: 10 })).toBe(2010);
    // Without a write price: 500 × 3 + 60 + 150.
    expect(
      costMicros({ ...sonnet, cache_write_per_mtok_micros: null }, { promptTokens: 700, cachedTokens: 200, cacheWriteTokens: 400, completionTokens: 10 }),
    ).toBe(1710);
    // More reads and writes than prompt: reads first (100), then writes fill the rest (0 left).
    expect(costMicros(sonnet, { promptTokens: 100, cachedTokens: 100, cacheWriteTokens: 100, completionTokens: 0 })).toBe(30);
  });

  it("worst case prices every prompt token at the dearest input rate (a cache-write premium), so it bounds any actual cost", () => {
    const sonnet = price("claude-sonnet-4-5", 3_000_000, 15_000_000, 300_000, "anthropic", 3_750_000);
    const worst = worstCaseCostMicros(sonnet, 1000, 100);
    expect(worst).toBe(3750 + 1500);
    expect(costMicros(sonnet, { promptTokens: 1000, cachedTokens: 0, cacheWriteTokens: 1000, completionTokens: 100 })).toBe(worst);
  });

  it("is exact for large requests (no float drift)", () => {
    const opus = price("o1-pro", 150_000_000, 600_000_000);
    expect(costMicros(opus, { promptTokens: 2_000_000, cachedTokens: 0, completionTokens: 100_000 })).toBe(360_000_000);
  });
});

describe("PriceBook lookups", () => {
  const book = new PriceBook([
    price("gpt-4o", 2_500_000, 10_000_000, 1_250_000),
    price("gpt-4o-mini", 150_000, 600_000, 75_000),
    price("claude-3-5-haiku", 800_000, 4_000_000, 80_000),
    price("gemini-2.0-flash", 100_000, 400_000),
    price("gemini-3.1-pro", 2_000_000, 12_000_000),
    price("mistral-large", 2_000_000, 6_000_000),
    price("groq/openai/gpt-oss-120b", 150_000, 600_000, 75_000, "groq"),
    price("groq/llama-3.3-70b-versatile", 590_000, 790_000, null, "groq"),
    price("o1-pro", 150_000_000, 600_000_000),
  ]);

  it.each([
    ["gpt-4o-mini", null, "gpt-4o-mini"],
    ["GPT-4o-mini-2024-07-18", null, "gpt-4o-mini"],
    ["gpt-4o-2024-08-06", "openai", "gpt-4o"],
    ["openai/gpt-4o", null, "gpt-4o"],
    ["claude-3-5-haiku-20241022", "anthropic", "claude-3-5-haiku"],
    ["claude-3-5-haiku-latest", null, "claude-3-5-haiku"],
    ["gemini-2.0-flash-001", null, "gemini-2.0-flash"],
    ["gemini-3.1-pro-preview", null, "gemini-3.1-pro"],
    ["mistral-large-2411", "mistral", "mistral-large"],
    ["openai/gpt-oss-120b", "groq", "groq/openai/gpt-oss-120b"],
    ["groq/llama-3.3-70b-versatile", null, "groq/llama-3.3-70b-versatile"],
    ["llama-3.3-70b-versatile", "groq", "groq/llama-3.3-70b-versatile"],
  ])("%s (provider %s) → %s", (model, provider, expected) => {
    expect(book.find(model, provider)?.model).toBe(expected);
  });

  it("does not price an open model hosted elsewhere at another provider's pinned price", () => {
    expect(book.find("llama-3.3-70b-versatile", "together")).toBeNull();
    expect(book.find("my-local-model", "ollama")).toBeNull();
  });

  it("prices a finished request by the served model, then by the requested name", () => {
    expect(book.forUsage("gpt-4o-mini-2024-07-18", "openai", "fast")?.model).toBe("gpt-4o-mini");
    expect(book.forUsage(null, null, "openai/gpt-4o")?.model).toBe("gpt-4o");
    expect(book.forUsage("unknown-upstream-name", "acme", "gpt-4o")?.model).toBe("gpt-4o");
    expect(book.forUsage("unknown", null, "alias")).toBeNull();
  });

  it("prices each target a request may be served by, and none when one of them has no price", () => {
    const targets = [
      { provider: "openai", model: "gpt-4o-mini-2024-07-18" },
      { provider: "openai", model: "o1-pro" },
    ];
    expect(book.forTargets(targets, "fast")?.map((p) => p.model)).toEqual(["gpt-4o-mini", "o1-pro"]);
    // A target without its own price is settled at the requested name's price, so reserved at it too.
    expect(book.forTargets([{ provider: "acme", model: "unknown" }], "gpt-4o")?.map((p) => p.model)).toEqual(["gpt-4o"]);
    expect(book.forTargets([...targets, { provider: "acme", model: "unknown" }], "alias")).toBeNull();
    const withDefault = new PriceBook([...book.all(), price("*", 1_000_000, 2_000_000)]);
    expect(withDefault.forTargets([{ provider: "acme", model: "unknown" }], "alias")?.map((p) => p.model)).toEqual(["*"]);
  });
});

describe("money and months", () => {
  it("converts dollars to integer micro-dollars", () => {
    expect(usdToMicros(5)).toBe(5_000_000);
    expect(usdToMicros(0.1 + 0.2)).toBe(300_000);
  });

  it("prints integer micro-dollars as an exact six-place decimal (x-gateway-cost-usd, cost_usd)", () => {
    expect(microsToUsdString(0)).toBe("0.000000");
    expect(microsToUsdString(8)).toBe("0.000008");
    expect(microsToUsdString(123)).toBe("0.000123");
    expect(microsToUsdString(1_000_000)).toBe("1.000000");
    // Past float's exact range for micros / 1e6 printing: integer arithmetic keeps every digit.
    expect(microsToUsdString(9_007_199_254_740_991)).toBe("9007199254.740991");
  });

  it("prints budget amounts as money: cents always, finer digits only when there are some", () => {
    expect(formatUsd(4_100_000)).toBe("$4.10");
    expect(formatUsd(5_000_000)).toBe("$5.00");
    expect(formatUsd(0)).toBe("$0.00");
    expect(formatUsd(5_000)).toBe("$0.005");
    expect(formatUsd(1_639_600)).toBe("$1.6396");
    expect(formatUsd(123)).toBe("$0.000123");
  });

  it("uses UTC calendar months", () => {
    expect(monthOf(Date.UTC(2026, 10, 30, 23, 59, 59, 999))).toBe("2026-11");
    expect(monthOf(Date.UTC(2026, 11, 1))).toBe("2026-12");
    expect(nextMonthStart(Date.UTC(2026, 11, 15))).toBe(Date.UTC(2027, 0, 1));
    // Asked again within a month, and back across its edge (the last month is remembered).
    expect(monthOf(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe("2026-12");
    expect(monthOf(Date.UTC(2027, 0, 1))).toBe("2027-01");
    expect(monthOf(Date.UTC(2026, 11, 31, 23, 59, 59, 999))).toBe("2026-12");
  });
});
