import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OPENAI_REASONING from "../fixtures/openai/chat-reasoning.json";
import ANTHROPIC_THINKING from "../fixtures/anthropic/message-thinking.json";
import GEMINI_TEXT from "../fixtures/google/generate-text.json";
import { ANTHROPIC_FAKE_KEY } from "../fake-upstream/anthropic";
import { GOOGLE_FAKE_KEY } from "../fake-upstream/google";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { anthropicClient, openaiClient } from "../support/clients";
import { gatewayFetch } from "../support/fetch";
import { uniqueModel } from "../support/names";
import { startStack, type Stack } from "../support/stack";
import { adminFetch, tenantWithKey } from "../support/tenants";
import { eventually } from "../support/wait";
import { afterPriceChange } from "../support/propagation";

/**
 * Issue 11, "must show": cached, cache-write and reasoning tokens from OpenAI, Anthropic and Gemini
 * answers are billed once each at their own price — streamed and not, through the real stack
 * (gateway → tail → model-proxy → the fake upstream serving the vendors' fixtures → usage-events
 * Queue → billing's D1) — and the usage API, the costs API and `/v1/usage/requests/{id}` return
 * exactly those totals.
 *
 * Every expected number is derived here from the fixture's own counts and the documented price rule
 * (workers/shared/src/pricing.ts `costMicros`), written out by hand, never by calling it:
 *   µ$ = ceil((uncached × input + cached × cached_input + cache_write × cache_write + output × output) / 1e6)
 * with each vendor's semantics: OpenAI's prompt includes its cached tokens and its completion the
 * reasoning; Anthropic reports cache reads and writes beside `input_tokens`, its thinking inside
 * `output_tokens`; Gemini's prompt includes cached content, its thoughts are outside the candidates.
 */

let stack: Stack;
let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
  const providers = [
    { name: "fake", type: "openai", base_url: upstream.url, timeout_ms: 20_000 },
    { name: "claude", type: "anthropic", base_url: upstream.url, timeout_ms: 20_000 },
    { name: "gemini", type: "google", base_url: upstream.url.replace(/\/v1$/, "/v1beta"), timeout_ms: 20_000 },
  ];
  const keys = { fake: upstream.apiKey, claude: ANTHROPIC_FAKE_KEY, gemini: GOOGLE_FAKE_KEY };
  stack = await startStack({ vars: { "model-proxy": { PLATFORM_PROVIDERS: JSON.stringify(providers), PLATFORM_PROVIDER_KEYS: JSON.stringify(keys) } } });
});
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

/** Rates in USD per 1M tokens, as /admin/prices takes them. */
interface Rates {
  input: number;
  cached: number;
  cacheWrite: number;
  output: number;
}
/** Tokens by kind, each token in exactly one kind. */
interface Kinds {
  uncached: number;
  cached: number;
  cacheWrite: number;
  output: number;
  reasoning: number;
}

/** The price rule by hand, in integer µ$ (rates × 1e6 are integers: µ$ per 1M tokens). */
const byRule = (k: Kinds, r: Rates) =>
  Math.ceil(
    (k.uncached * Math.round(r.input * 1e6) +
      k.cached * Math.round(r.cached * 1e6) +
      k.cacheWrite * Math.round(r.cacheWrite * 1e6) +
      k.output * Math.round(r.output * 1e6)) /
      1_000_000,
  );
const usd = (micros: number) => `${Math.floor(micros / 1e6)}.${String(micros % 1e6).padStart(6, "0")}`;

const o = OPENAI_REASONING.usage;
const a = ANTHROPIC_THINKING.usage;
const g = GEMINI_TEXT.usageMetadata;

/** One case per vendor: the fixture's own counts, sorted into kinds by that vendor's documented semantics. */
const VENDORS = {
  openai: {
    provider: "fake",
    rates: { input: 1.1, cached: 0.275, cacheWrite: 1.375, output: 4.4 },
    kinds: {
      uncached: o.prompt_tokens - o.prompt_tokens_details.cached_tokens,
      cached: o.prompt_tokens_details.cached_tokens,
      cacheWrite: 0,
      output: o.completion_tokens, // reasoning is inside completion_tokens
      reasoning: o.completion_tokens_details.reasoning_tokens,
    },
  },
  anthropic: {
    provider: "claude",
    rates: { input: 3, cached: 0.3, cacheWrite: 3.75, output: 15 },
    kinds: {
      uncached: a.input_tokens, // cache reads and writes are reported beside it
      cached: a.cache_read_input_tokens,
      cacheWrite: a.cache_creation_input_tokens,
      output: a.output_tokens, // thinking is inside output_tokens
      reasoning: a.output_tokens_details.thinking_tokens,
    },
  },
  gemini: {
    provider: "gemini",
    rates: { input: 0.3, cached: 0.03, cacheWrite: 0.3, output: 2.5 },
    kinds: {
      uncached: g.promptTokenCount - g.cachedContentTokenCount, // cached content is inside promptTokenCount
      cached: g.cachedContentTokenCount,
      cacheWrite: 0,
      output: g.candidatesTokenCount + g.thoughtsTokenCount, // thoughts are outside candidatesTokenCount
      reasoning: g.thoughtsTokenCount,
    },
  },
} satisfies Record<string, { provider: string; rates: Rates; kinds: Kinds }>;
type Vendor = keyof typeof VENDORS;

/** What `/v1/usage/requests/{id}` must say for one request of `vendor`. */
function expectedRecord(vendor: Vendor) {
  const { kinds, rates } = VENDORS[vendor];
  const prompt = kinds.uncached + kinds.cached + kinds.cacheWrite;
  return {
    prompt_tokens: prompt,
    cached_tokens: kinds.cached,
    cache_write_tokens: kinds.cacheWrite,
    completion_tokens: kinds.output,
    reasoning_tokens: kinds.reasoning,
    total_tokens: prompt + kinds.output,
    cost_usd_micros: byRule(kinds, rates),
    cost_usd: usd(byRule(kinds, rates)),
    priced: true,
  };
}

let apiKey: string;
let since: number;
/** Per vendor and format: the request's id and its non-streamed cost header. */
const made: { vendor: Vendor; api: "chat" | "messages"; stream: boolean; requestId: string; costHeader: string | null; clientUsage: unknown }[] = [];

async function pricedModel(vendor: Vendor, suffix = ""): Promise<string> {
  const model = `${uniqueModel(`kinds-${vendor}`)}${suffix}`;
  const r = VENDORS[vendor].rates;
  const res = await adminFetch(stack, `/admin/prices/${model}`, {
    method: "PUT",
    body: { input_per_mtok: r.input, cached_input_per_mtok: r.cached, cache_write_per_mtok: r.cacheWrite, output_per_mtok: r.output },
  });
  expect(res.status).toBe(201);
  await afterPriceChange(stack);
  return model;
}

async function requestRecord(requestId: string): Promise<Record<string, unknown>> {
  return eventually(
    async () => {
      const res = await gatewayFetch(stack, `/v1/usage/requests/${requestId}`, { key: apiKey });
      if (res.status === 404) return null;
      expect(res.status).toBe(200);
      return (await res.json()) as Record<string, unknown>;
    },
    20_000,
    `usage record ${requestId}`,
  );
}

beforeAll(async () => {
  since = Math.floor(Date.now() / 1000) - 1;
  ({ apiKey } = await tenantWithKey(stack, { scopes: ["chat", "usage:read"] }));
  const openai = openaiClient(stack, apiKey);
  const anthropic = anthropicClient(stack, apiKey);
  const messages = [{ role: "user" as const, content: "What is the capital of France?" }];

  const models: Record<Vendor, string> = {
    openai: await pricedModel("openai"),
    anthropic: await pricedModel("anthropic", "-thinking"), // the fake's scenario: thinking + cache reads and writes
    gemini: await pricedModel("gemini"),
  };
  upstream.on(models.openai, { fixture: "chat-reasoning" });

  for (const vendor of Object.keys(VENDORS) as Vendor[]) {
    const model = `${VENDORS[vendor].provider}/${models[vendor]}`;
    const plain = await openai.chat.completions.create({ model, messages }).withResponse();
    made.push({
      vendor,
      api: "chat",
      stream: false,
      requestId: plain.response.headers.get("x-request-id")!,
      costHeader: plain.response.headers.get("x-gateway-cost-usd"),
      clientUsage: plain.data.usage,
    });
    // Streamed without asking for usage: the gateway still meters the usage the upstream reported.
    const streamed = await openai.chat.completions.create({ model, messages, stream: true }).withResponse();
    for await (const _ of streamed.data) void _;
    made.push({ vendor, api: "chat", stream: true, requestId: streamed.response.headers.get("x-request-id")!, costHeader: null, clientUsage: null });
  }
  // Anthropic's own API (/v1/messages), answered by Anthropic: its taps read Anthropic's usage shape.
  const claudeModel = `claude/${models.anthropic}`;
  const native = await anthropic.messages.create({ model: claudeModel, max_tokens: 1024, messages }).withResponse();
  made.push({
    vendor: "anthropic",
    api: "messages",
    stream: false,
    requestId: native.response.headers.get("x-request-id")!,
    costHeader: native.response.headers.get("x-gateway-cost-usd"),
    clientUsage: native.data.usage,
  });
  const nativeStream = anthropic.messages.stream({ model: claudeModel, max_tokens: 1024, messages });
  await nativeStream.finalMessage();
  made.push({
    vendor: "anthropic",
    api: "messages",
    stream: true,
    requestId: (await nativeStream.withResponse()).response.headers.get("x-request-id")!,
    costHeader: null,
    clientUsage: null,
  });
});

describe("cached, cache-write and reasoning tokens are billed once each at their own price", () => {
  it.each(["openai", "anthropic", "gemini"] as const)(
    "%s: /v1/usage/requests/{id} has every kind and the exact micro-dollars, streamed and not",
    async (vendor) => {
      const expected = expectedRecord(vendor);
      const mine = made.filter((m) => m.vendor === vendor);
      expect(mine.length).toBeGreaterThanOrEqual(2);
      for (const m of mine) {
        const record = await requestRecord(m.requestId);
        expect(record, `${vendor} ${m.api} stream=${m.stream}`).toMatchObject({
          ...expected,
          provider: VENDORS[vendor].provider,
          stream: m.stream,
          status: 200,
        });
        if (!m.stream) expect(m.costHeader, `${vendor} ${m.api}`).toBe(expected.cost_usd);
      }
    },
  );

  it("the numbers by hand: each kind at its rate, rounded up once", () => {
    // OpenAI: 160 uncached × $1.10 + 1152 cached × $0.275 + 203 output (192 of them reasoning) × $4.40 = 1386 µ$.
    expect(expectedRecord("openai").cost_usd_micros).toBe(1386);
    // Anthropic: 21 × $3 + 2048 reads × $0.30 + 1024 writes × $3.75 + 212 output (200 thinking) × $15 = 7697.4 → 7698 µ$.
    expect(expectedRecord("anthropic").cost_usd_micros).toBe(7698);
    // Gemini: 5 × $0.30 + 4 cached × $0.03 + (7 candidates + 30 thoughts) × $2.50 = 94.12 → 95 µ$.
    expect(expectedRecord("gemini").cost_usd_micros).toBe(95);
  });

  it("the client sees the same kinds in its vendor's own usage shape", () => {
    const chat = (vendor: Vendor) => made.find((m) => m.vendor === vendor && m.api === "chat" && !m.stream)!.clientUsage;
    expect(chat("anthropic")).toMatchObject({
      prompt_tokens: 3093,
      completion_tokens: 212,
      prompt_tokens_details: { cached_tokens: 2048, cache_write_tokens: 1024 },
      completion_tokens_details: { reasoning_tokens: 200 },
    });
    expect(chat("gemini")).toMatchObject({
      prompt_tokens: 9,
      completion_tokens: 37,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 30 },
    });
    expect(made.find((m) => m.api === "messages" && !m.stream)!.clientUsage).toMatchObject({
      input_tokens: 21,
      cache_read_input_tokens: 2048,
      cache_creation_input_tokens: 1024,
      output_tokens: 212,
    });
  });

  it("the usage and costs APIs return exactly the requests made and the sum of their tokens and micro-dollars", async () => {
    for (const m of made) await requestRecord(m.requestId); // billing has stored them all
    const expected = made.map((m) => expectedRecord(m.vendor));
    const sum = (f: (r: ReturnType<typeof expectedRecord>) => number) => expected.reduce((n, r) => n + f(r), 0);

    const usageRes = await gatewayFetch(stack, `/v1/organization/usage/completions?start_time=${since}&bucket_width=1h`, { key: apiKey });
    expect(usageRes.status).toBe(200);
    const usage = (await usageRes.json()) as { data: { results: Record<string, number>[] }[] };
    const results = usage.data.flatMap((b) => b.results);
    const total = (k: string) => results.reduce((n, r) => n + r[k]!, 0);
    expect(total("num_model_requests")).toBe(made.length);
    expect(total("input_tokens")).toBe(sum((r) => r.prompt_tokens));
    expect(total("input_cached_tokens")).toBe(sum((r) => r.cached_tokens));
    expect(total("output_tokens")).toBe(sum((r) => r.completion_tokens));

    const costsRes = await gatewayFetch(stack, `/v1/organization/costs?start_time=${since}`, { key: apiKey });
    expect(costsRes.status).toBe(200);
    const costs = (await costsRes.json()) as { data: { results: { cost_usd_micros: number; amount: { value: number } }[] }[] };
    const micros = costs.data.flatMap((b) => b.results).reduce((n, r) => n + r.cost_usd_micros, 0);
    expect(micros).toBe(sum((r) => r.cost_usd_micros));
    expect(micros).toBe(2 * 1386 + 4 * 7698 + 2 * 95);
  });
});
