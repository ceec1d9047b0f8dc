import { afterEach, describe, expect, it, vi } from "vitest";
import OPENAI_REASONING from "../../../../test/fixtures/openai/chat-reasoning.json";
import anthropicThinking from "../../../../test/fixtures/anthropic/stream-thinking.sse?raw";
import type { Price, Principal, UsagePack } from "../../../shared/src";
import { resetPriceCache } from "../limits/prices";
import { anthropicInspector } from "../../../shared/src/proxy/anthropic-dialect";
import { observeOpenAIJson as observeJsonBytes } from "../../../shared/src/proxy/openai-dialect";
import { pumpSse } from "../../../shared/src/proxy/sse-pump";
import type { Observation } from "../../../shared/src/proxy/observation";
import { usageEvent, type RequestFacts } from "./event";
import { DATAPOINT_LAYOUT, recordUsage } from "./record";

/** Prices the recording billing binding serves: every rate distinct, so each kind shows in the cost. */
const PRICES: Price[] = [
  { model: "o4-mini", provider: null, input_per_mtok_micros: 1_100_000, cached_input_per_mtok_micros: 275_000, output_per_mtok_micros: 4_400_000 },
  {
    model: "claude-sonnet-4-5",
    provider: null,
    input_per_mtok_micros: 3_000_000,
    cached_input_per_mtok_micros: 300_000,
    cache_write_per_mtok_micros: 3_750_000,
    output_per_mtok_micros: 15_000_000,
  },
];

/** The bindings recordUsage writes through, each recording what it received. */
function recordingEnv() {
  const points: AnalyticsEngineDataPoint[] = [];
  const packs: UsagePack[] = [];
  const env = {
    ANALYTICS: { writeDataPoint: (p: AnalyticsEngineDataPoint) => void points.push(p) },
    USAGE_EVENTS: {
      sendBatch: async (messages: Iterable<MessageSendRequest<UsagePack>>) => void packs.push(...[...messages].map((m) => m.body)),
    },
    BILLING: { prices: async () => ({ ok: true as const, value: PRICES }) },
  };
  const waits: Promise<unknown>[] = [];
  const waitUntil = (p: Promise<unknown>) => void waits.push(p);
  /** Waits for everything recordUsage handed to waitUntil (including what those handed on). */
  const settled = async () => {
    for (let i = 0; i < waits.length; i++) await waits[i];
  };
  return { env: env as unknown as Pick<GatewayEnv, "USAGE_EVENTS" | "ANALYTICS" | "BILLING">, points, packs, waitUntil, settled };
}

const principal = { tenantId: "ten_a", keyId: "key_a", keyBudget: {}, tenantBudget: {} } as Principal;
const facts = (requestedModel: string, stream: boolean): RequestFacts => ({
  requestId: `req_${crypto.randomUUID()}`,
  clientRequestId: null,
  principal,
  operation: stream ? "messages" : "chat",
  requestedModel,
  stream,
  startedAt: 1_000,
  promptEstimate: 5,
});

/** The datapoint's doubles by the names the documented layout gives them. */
const named = (p: AnalyticsEngineDataPoint) => Object.fromEntries(DATAPOINT_LAYOUT.doubles.map((name, i) => [name, p.doubles![i]]));
const blobs = (p: AnalyticsEngineDataPoint) => Object.fromEntries(DATAPOINT_LAYOUT.blobs.map((name, i) => [name, p.blobs![i]]));

afterEach(() => resetPriceCache());

describe("the Analytics Engine datapoint, written through the ANALYTICS binding", () => {
  it("carries the normalised numbers of an OpenAI answer (cached and reasoning tokens) and its cost, as documented", async () => {
    const { env, points, packs, waitUntil, settled } = recordingEnv();
    const observation = { ...observeJsonBytes(new TextEncoder().encode(JSON.stringify(OPENAI_REASONING.completion))), firstByteAt: 1_040 };
    const req = facts("o4-mini", false);
    const event = usageEvent(req, { status: 200, provider: "openai", model: "o4-mini", observation, endedAt: 1_250 });
    recordUsage(env, waitUntil, event);
    await settled();

    expect(points).toHaveLength(1);
    const u = OPENAI_REASONING.usage;
    expect(points[0]!.indexes).toEqual(["ten_a"]);
    expect(blobs(points[0]!)).toEqual({
      tenant_id: "ten_a",
      key_id: "key_a",
      operation: "chat",
      requested_model: "o4-mini",
      provider: "openai",
      model: "o4-mini",
      outcome: "ok",
      format: "json",
      request_id: req.requestId,
    });
    expect(named(points[0]!)).toEqual({
      status: 200,
      latency_ms: 250,
      ttfb_ms: 40,
      prompt_tokens: u.prompt_tokens,
      completion_tokens: u.completion_tokens,
      cached_tokens: u.prompt_tokens_details.cached_tokens,
      reasoning_tokens: u.completion_tokens_details.reasoning_tokens,
      total_tokens: u.prompt_tokens + u.completion_tokens,
      cache_write_tokens: 0,
      // (1312 − 1152) × 1.1 + 1152 × 0.275 + 203 × 4.4 = 176 + 316.8 + 893.2 µ$.
      cost_usd_micros: 1386,
    });
    // The same record went to billing.
    expect(packs.flatMap((p) => p.events)).toEqual([expect.objectContaining({ request_id: req.requestId, cached_tokens: 1152, reasoning_tokens: 192 })]);
  });

  it("carries an Anthropic stream's cache reads, cache writes and thinking tokens (read by the /v1/messages tap)", async () => {
    const { env, points, waitUntil, settled } = recordingEnv();
    let observation: Observation | null = null;
    const tapped = pumpSse(new Response(anthropicThinking).body!, { inspector: anthropicInspector(), provider: "claude", onEnd: (o) => (observation = o) });
    await new Response(tapped).text();
    const req = facts("claude-sonnet-4-5", true);
    recordUsage(env, waitUntil, usageEvent(req, { status: 200, provider: "claude", model: "claude-sonnet-4-5-20250929", observation, endedAt: 2_000 }));
    await settled();

    expect(points).toHaveLength(1);
    expect(blobs(points[0]!)).toMatchObject({ operation: "messages", format: "stream", model: "claude-sonnet-4-5-20250929" });
    // stream-thinking.sse: input 21, cache reads 2048, cache writes 1024 (beside input), output 212 of which 200 thinking.
    expect(named(points[0]!)).toMatchObject({
      prompt_tokens: 21 + 2048 + 1024,
      cached_tokens: 2048,
      cache_write_tokens: 1024,
      completion_tokens: 212,
      reasoning_tokens: 200,
      total_tokens: 3093 + 212,
      // 21 × 3 + 2048 × 0.3 + 1024 × 3.75 + 212 × 15 = 7697.4 → 7698 µ$.
      cost_usd_micros: 7698,
    });
  });

  it("still writes the datapoint (cost -1, unknown) when the price table cannot be read", async () => {
    const { env, points, waitUntil, settled } = recordingEnv();
    (env.BILLING as unknown as { prices: () => Promise<unknown> }).prices = () => Promise.reject(new Error("billing down"));
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    recordUsage(env, waitUntil, usageEvent(facts("o4-mini", false), { status: 502, provider: null, model: null, observation: null, endedAt: 1_010 }));
    await settled();
    log.mockRestore();
    expect(points).toHaveLength(1);
    expect(named(points[0]!)).toMatchObject({ status: 502, prompt_tokens: 0, cost_usd_micros: -1 });
    expect(blobs(points[0]!)).toMatchObject({ outcome: "error", provider: "", model: "" });
  });
});
