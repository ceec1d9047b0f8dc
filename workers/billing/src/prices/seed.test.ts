import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { PriceStore } from "./store";

const env = workerEnv as unknown as BillingEnv & { TEST_MIGRATIONS: D1Migration[] };

beforeAll(async () => {
  await applyD1Migrations(env.BILLING_DB, env.TEST_MIGRATIONS);
});

describe("seeded prices", () => {
  it("cover the presets' models and resolve the names upstreams really return", async () => {
    const book = await new PriceStore(env.BILLING_DB).book();
    const cases: [string, string | null, string][] = [
      ["gpt-4o-mini-2024-07-18", "openai", "gpt-4o-mini"],
      ["gpt-4.1-nano-2025-04-14", "openai", "gpt-4.1-nano"],
      ["o4-mini-2025-04-16", "openai", "o4-mini"],
      ["text-embedding-3-small", "openai", "text-embedding-3-small"],
      ["claude-sonnet-4-20250514", "anthropic", "claude-sonnet-4"],
      ["claude-3-5-haiku-latest", "anthropic", "claude-3-5-haiku"],
      ["claude-opus-4-5-20251101", "anthropic", "claude-opus-4-5"],
      ["gemini-2.5-flash", "gemini", "gemini-2.5-flash"],
      ["gemini-2.0-flash-001", "gemini", "gemini-2.0-flash"],
      ["llama-3.3-70b-versatile", "groq", "groq/llama-3.3-70b-versatile"],
      ["openai/gpt-oss-120b", "groq", "groq/openai/gpt-oss-120b"],
      ["mistral-small-latest", "mistral", "mistral-small"],
      ["mistral-large-2411", "mistral", "mistral-large"],
      ["deepseek-chat", "deepseek", "deepseek-chat"],
      ["grok-3-mini", "xai", "grok-3-mini"],
      ["sonar-pro", "perplexity", "sonar-pro"],
    ];
    for (const [model, provider, expected] of cases) expect(book.find(model, provider)?.model, model).toBe(expected);
    expect(book.find("gpt-4o-mini")).toMatchObject({ input_per_mtok_micros: 150_000, output_per_mtok_micros: 600_000, cached_input_per_mtok_micros: 75_000 });
    expect(book.find("claude-3-5-haiku")).toMatchObject({ input_per_mtok_micros: 800_000, output_per_mtok_micros: 4_000_000 });
    // Anthropic's published 5-minute cache-write prices (1.25× input, migration 0006); none elsewhere.
    const writes: [string, number][] = [
      ["claude-opus-4-5", 6_250_000],
      ["claude-opus-4-1", 18_750_000],
      ["claude-sonnet-4-5", 3_750_000],
      ["claude-3-7-sonnet", 3_750_000],
      ["claude-haiku-4-5", 1_250_000],
      ["claude-3-5-haiku", 1_000_000],
      ["claude-3-haiku", 300_000],
    ];
    for (const [model, micros] of writes) expect(book.find(model)?.cache_write_per_mtok_micros, model).toBe(micros);
    const anthropic = book.all().filter((p) => p.provider === "anthropic");
    // Every seeded Anthropic model has one, at a premium over input (1.25×; Claude 3 Haiku's list price rounds: $0.30 for $0.25).
    expect(anthropic.length).toBeGreaterThan(10);
    for (const p of anthropic) expect(p.cache_write_per_mtok_micros! > p.input_per_mtok_micros, p.model).toBe(true);
    expect(book.all().filter((p) => p.provider !== "anthropic" && p.cache_write_per_mtok_micros !== null)).toEqual([]);
    expect(book.find("*")).toBeNull();
  });
});
