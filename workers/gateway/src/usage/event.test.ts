import { describe, expect, it } from "vitest";
import type { Principal } from "../../../shared/src";
import { emptyObservation } from "../../../shared/src/proxy/observation";
import { datapoint } from "./record";
import { usageEvent, type RequestFacts } from "./event";

const principal = { tenantId: "ten_1", keyId: "key_1", keyBudget: {}, tenantBudget: { monthly_usd: 5 } } as Principal;
const req: RequestFacts = {
  requestId: "req_1",
  clientRequestId: null,
  principal,
  operation: "chat",
  requestedModel: "acme/m",
  stream: true,
  startedAt: 1_000,
  promptEstimate: 50,
};

describe("usageEvent", () => {
  it("uses the upstream's usage when it reported one", () => {
    const observation = {
      ...emptyObservation(),
      usage: { promptTokens: 10, completionTokens: 5, cachedTokens: 2, cacheWriteTokens: 3, reasoningTokens: 1, totalTokens: 15 },
      firstByteAt: 1_040,
    };
    const e = usageEvent(req, { status: 200, provider: "acme", model: "m", observation, endedAt: 1_300 });
    expect(e).toMatchObject({
      prompt_tokens: 10,
      completion_tokens: 5,
      cached_tokens: 2,
      cache_write_tokens: 3,
      reasoning_tokens: 1,
      total_tokens: 15,
      latency_ms: 300,
      ttfb_ms: 40,
      tags: {},
      aborted: false,
      // The budgets the request was admitted under, in µ$, for billing's budget alerts.
      budgets: { key_micros: null, tenant_micros: 5_000_000 },
    });
  });

  it("estimates an aborted stream from the request and what was generated", () => {
    const observation = { ...emptyObservation(), aborted: true, contentEvents: 6, completionChars: 12, firstByteAt: 1_010 };
    const e = usageEvent(req, { status: 200, provider: "acme", model: "m", observation, endedAt: 1_100 });
    expect(e).toMatchObject({ prompt_tokens: 50, completion_tokens: 6, total_tokens: 56, aborted: true, tags: { usage: "estimated" } });
  });

  it("estimates the prompt of a request the client left before any answer (499), with no completion", () => {
    const e = usageEvent(req, { status: 499, provider: null, model: null, observation: { ...emptyObservation(), aborted: true }, endedAt: 1_100 });
    expect(e).toMatchObject({
      status: 499,
      prompt_tokens: 50,
      completion_tokens: 0,
      total_tokens: 50,
      aborted: true,
      ttfb_ms: null,
      tags: { usage: "estimated" },
    });
  });

  it("meters an error answer with zero tokens and its status", () => {
    const e = usageEvent(req, { status: 502, provider: "acme", model: "m", observation: null, endedAt: 1_010 });
    expect(e).toMatchObject({ status: 502, prompt_tokens: 0, completion_tokens: 0, ttfb_ms: null });
  });

  it("lays out the Analytics Engine datapoint as documented", () => {
    const e = usageEvent(req, { status: 200, provider: "acme", model: "m", observation: { ...emptyObservation(), aborted: true }, endedAt: 1_100 });
    const dp = datapoint(e, 42);
    expect(dp.indexes).toEqual(["ten_1"]);
    expect(dp.blobs).toEqual(["ten_1", "key_1", "chat", "acme/m", "acme", "m", "aborted", "stream", "req_1"]);
    expect(dp.doubles?.[0]).toBe(200);
  });
});
