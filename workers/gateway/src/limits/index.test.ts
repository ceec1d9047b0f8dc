import { afterEach, beforeEach, describe, expect, it, vi } from "vitest";
import {
  ApiError,
  type AcquireRequest,
  type AcquireResult,
  type Price,
  type Principal,
  type RenewRequest,
  type RouteTarget,
  type SettleRequest,
} from "../../../shared/src";
import { acquireLimits, hasLimits, limitHeaders, resetSettlements, settleLimits, shardOf, type LimitReservation } from "./index";
import { resetCreditCache } from "./credits";
import { resetPriceCache } from "./prices";
import { resetTargetCache } from "./targets";

const PRICES: Price[] = [
  {
    model: "gpt-4o-mini",
    provider: "openai",
    input_per_mtok_micros: 150_000,
    output_per_mtok_micros: 600_000,
    cached_input_per_mtok_micros: 75_000,
    cache_write_per_mtok_micros: null,
  },
  {
    model: "o1-pro",
    provider: "openai",
    input_per_mtok_micros: 150_000_000,
    output_per_mtok_micros: 600_000_000,
    cached_input_per_mtok_micros: null,
    cache_write_per_mtok_micros: null,
  },
];

function principal(p: Partial<Principal> = {}): Principal {
  return {
    tenantId: "ten_1",
    keyId: "key_1",
    scopes: ["chat"],
    models: null,
    keyLimits: {},
    tenantLimits: {},
    tenantCorsOrigins: [],
    keyBudget: {},
    tenantBudget: {},
    token: "t",
    tokenExpiresAt: Date.now() + 60_000,
    ...p,
  };
}

/** A RateLimiter namespace double that records calls and answers with a scripted decision. */
function fakeEnv(answer: (req: AcquireRequest) => AcquireResult | Promise<AcquireResult>) {
  const calls: { object: string; method: string; input: unknown }[] = [];
  const settle = vi.fn(async (_input: SettleRequest) => ({ ok: true as const, known: true }));
  const env = {
    RATE_LIMITER: {
      idFromName: (name: string) => ({ name }),
      get: (id: { name: string }) => ({
        acquire: async (input: AcquireRequest) => {
          calls.push({ object: id.name, method: "acquire", input });
          return answer(input);
        },
        settleBatch: async (input: { settlements: SettleRequest[] }) => {
          calls.push({ object: id.name, method: "settleBatch", input });
          for (const s of input.settlements) await settle(s);
          return { ok: true as const, known: input.settlements.length };
        },
        renew: async (input: RenewRequest) => {
          calls.push({ object: id.name, method: "renew", input });
          return { ok: true as const, renewed: true };
        },
      }),
    },
    BILLING: {
      prices: vi.fn(async () => ({ ok: true as const, value: PRICES })),
      // No tenant here has prepaid credits (limits/credits.ts).
      creditLimit: vi.fn(async () => ({ ok: true as const, value: { month: "2026-01", limit_micros: null } })),
    },
    // `fast` is an alias over a cheap and a dear model; other names resolve to themselves.
    MODEL_PROXY: {
      routeTargets: vi.fn(async (_token: string, model: string) => ({
        ok: true as const,
        value: (model === "fast"
          ? [
              { provider: "openai", type: "openai", model: "gpt-4o-mini" },
              { provider: "openai", type: "openai", model: "o1-pro" },
            ]
          : [{ provider: "acme", type: "openai-compatible", model }]) satisfies RouteTarget[],
      })),
    },
  };
  return { env: env as unknown as GatewayEnv, calls, billing: env.BILLING, modelProxy: env.MODEL_PROXY };
}

const admitted = (leaseId = "lease-1"): AcquireResult => ({
  ok: true,
  leaseId,
  status: {
    requests: { subject: "key:key_1", limit: 50, remaining: 49, resetMs: 60_000 },
    tokens: { subject: "tenant:ten_1", limit: 100_000, remaining: 98_000, resetMs: 1_200 },
  },
});

const reservation: LimitReservation = { model: "gpt-4o-mini", operation: "chat", promptTokens: 1000, completion: { maxPerChoice: 1000, choices: 1 } };

beforeEach(() => {
  resetPriceCache();
  resetCreditCache();
  resetTargetCache();
  resetSettlements();
});
afterEach(() => vi.restoreAllMocks());

async function refusal(promise: Promise<unknown>): Promise<ApiError> {
  try {
    await promise;
  } catch (err) {
    if (err instanceof ApiError) return err;
    throw err;
  }
  throw new Error("expected a refusal");
}

describe("acquireLimits", () => {
  it("skips the limiter entirely for a principal without limits or budgets", async () => {
    const { env, calls } = fakeEnv(() => admitted());
    expect(hasLimits(principal({ keyLimits: { rpm: null }, tenantBudget: { monthly_usd: null } }))).toBe(false);
    expect(await acquireLimits(env, principal(), reservation)).toBeNull();
    expect(calls).toEqual([]);
    expect(limitHeaders(null)).toEqual({});
  });

  it("uses the key's object when only the key is limited, and sends tokens without a cost when no budget applies", async () => {
    const { env, calls, billing } = fakeEnv(() => admitted());
    const lease = await acquireLimits(env, principal({ keyLimits: { rpm: 50 } }), reservation);
    expect(calls).toEqual([
      {
        object: "key:key_1",
        method: "acquire",
        input: {
          subjects: [{ id: "key:key_1", rpm: 50, tpm: null, maxConcurrency: null, monthlyBudgetMicros: null }],
          tokens: 2000,
          costMicros: 0,
          // Where the key's counters were before its tenant lost its limits (hands their spend over).
          peer: "tenant:ten_1",
          // Shown to billing if the object must read a month's spend.
          principalToken: "t",
        },
      },
    ]);
    expect(billing.prices).not.toHaveBeenCalled();
    expect(limitHeaders(lease)).toEqual({
      "x-ratelimit-limit-requests": "50",
      "x-ratelimit-remaining-requests": "49",
      "x-ratelimit-reset-requests": "1m0s",
      "x-ratelimit-limit-tokens": "100000",
      "x-ratelimit-remaining-tokens": "98000",
      "x-ratelimit-reset-tokens": "1.2s",
    });
  });

  it("puts key and tenant subjects in the tenant's object (one call) and reserves the worst-case cost", async () => {
    const { env, calls } = fakeEnv(() => admitted());
    await acquireLimits(env, principal({ keyLimits: { max_concurrency: 4 }, keyBudget: { monthly_usd: 5 }, tenantLimits: { tpm: 100_000 } }), reservation);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({
      object: "tenant:ten_1",
      input: {
        subjects: [
          { id: "key:key_1", maxConcurrency: 4, monthlyBudgetMicros: 5_000_000 },
          { id: "tenant:ten_1", tpm: 100_000, monthlyBudgetMicros: null },
        ],
        tokens: 2000,
        // 1000 × $0.15/M + 1000 × $0.60/M = 150 + 600 µ$.
        costMicros: 750,
        peer: "key:key_1",
      },
    });
  });

  it("sends a tenant above the sharding threshold to one shard per isolate, which borrows from the tenant's object", async () => {
    const { env, calls } = fakeEnv(() => admitted());
    const lease = await acquireLimits(env, principal({ tenantLimits: { rpm: 100_000 } }), reservation);
    expect(calls).toHaveLength(1);
    expect(calls[0]).toMatchObject({ object: expect.stringMatching(/^tenant:ten_1\/shard-[0-3]$/), input: { parent: "tenant:ten_1", peer: "key:key_1" } });
    // Settle goes to the same shard.
    await settleLimits(env, lease, { promptTokens: 1, completionTokens: 1, cachedTokens: 0, model: null, provider: null });
    expect(calls[1]).toMatchObject({ object: calls[0]!.object, method: "settleBatch" });
    // Below the threshold, with a concurrency limit, or with a subject without rpm: one object.
    const s = (id: string, rpm: number | null, maxConcurrency: number | null = null) => ({ id, rpm, tpm: null, maxConcurrency, monthlyBudgetMicros: null });
    expect(shardOf("tenant:t", [s("tenant:t", 60_000)], 2)).toBe("tenant:t/shard-2");
    expect(shardOf("tenant:t", [s("tenant:t", 59_999)], 2)).toBeNull();
    expect(shardOf("tenant:t", [s("tenant:t", 60_000, 100)], 2)).toBeNull();
    expect(shardOf("tenant:t", [s("key:k", null), s("tenant:t", 60_000)], 2)).toBeNull();
  });

  it("reserves an alias at its most expensive target", async () => {
    const { env, calls } = fakeEnv(() => admitted());
    await acquireLimits(env, principal({ tenantBudget: { monthly_usd: 100 } }), {
      ...reservation,
      model: "fast",
      promptTokens: 10,
      completion: { maxPerChoice: 10, choices: 1 },
    });
    // o1-pro: 10 × $150/M + 10 × $600/M = 1500 + 6000 µ$.
    expect((calls[0]!.input as AcquireRequest).costMicros).toBe(7500);
  });

  it("refuses a model without a price to a budgeted key, before anything is reserved", async () => {
    const { env, calls } = fakeEnv(() => admitted());
    const err = await refusal(acquireLimits(env, principal({ keyBudget: { monthly_usd: 1 } }), { ...reservation, model: "acme/unpriced" }));
    expect(err).toMatchObject({ status: 403, code: "model_not_priced", param: "model" });
    expect(calls).toEqual([]);
  });

  it("without a client maximum, reserves the model's documented output, else sends the default cap upstream", async () => {
    const { env, calls, modelProxy } = fakeEnv(() => admitted());
    const limited = principal({ keyLimits: { tpm: 1_000_000 } });
    const known = await acquireLimits(env, limited, { ...reservation, model: "fast", completion: { maxPerChoice: null, choices: 2 } });
    // fast → gpt-4o-mini (16 384) and o1-pro (unlisted): not all known, so the cap is sent.
    expect(known?.bodyOverrides).toEqual({ max_completion_tokens: 4096 });
    expect((calls[0]!.input as AcquireRequest).tokens).toBe(1000 + 2 * 4096);
    const listed = await acquireLimits(env, limited, { ...reservation, model: "gpt-4o-mini-2024-07-18", completion: { maxPerChoice: null, choices: 1 } });
    expect(listed?.bodyOverrides).toBeNull();
    expect((calls[1]!.input as AcquireRequest).tokens).toBe(1000 + 16_384);
    const compatible = await acquireLimits(env, limited, { ...reservation, model: "local-llm", completion: { maxPerChoice: null, choices: 1 } });
    expect(compatible?.bodyOverrides).toEqual({ max_tokens: 4096 });
    const legacy = await acquireLimits(env, limited, {
      ...reservation,
      model: "local-llm",
      operation: "completions",
      completion: { maxPerChoice: null, choices: 3 },
    });
    expect(legacy?.bodyOverrides).toEqual({ max_tokens: 16 });
    expect((calls[3]!.input as AcquireRequest).tokens).toBe(1000 + 3 * 16);
    // A client maximum without a budget needs no route lookup at all.
    modelProxy.routeTargets.mockClear();
    await acquireLimits(env, limited, reservation);
    expect(modelProxy.routeTargets).not.toHaveBeenCalled();
  });

  it("turns a requests refusal into OpenAI's 429 with retry-after, retry-after-ms and the rate-limit headers", async () => {
    const { env } = fakeEnv(() => ({
      ok: false,
      refusal: { kind: "requests", subject: "key:key_1", limit: 50, used: 50, requested: 1, retryAfterMs: 1234.5 },
      status: { requests: { subject: "key:key_1", limit: 50, remaining: 0, resetMs: 59_000 }, tokens: null },
    }));
    const err = await refusal(acquireLimits(env, principal({ keyLimits: { rpm: 50 } }), reservation));
    expect(err.status).toBe(429);
    expect(err.code).toBe("rate_limit_exceeded");
    expect(err.message).toBe("Rate limit reached for requests per minute (RPM) on API key key_1: Limit 50, Used 50, Requested 1. Please try again in 1.235s.");
    expect(err.headers).toEqual({
      "retry-after": "2",
      "retry-after-ms": "1235",
      "x-ratelimit-limit-requests": "50",
      "x-ratelimit-remaining-requests": "0",
      "x-ratelimit-reset-requests": "59s",
    });
  });

  it("names the concurrency limit and suggests a short retry", async () => {
    const { env } = fakeEnv(() => ({
      ok: false,
      refusal: { kind: "concurrency", subject: "tenant:ten_1", limit: 4, used: 4, requested: 1, retryAfterMs: 1000 },
      status: { requests: null, tokens: null },
    }));
    const err = await refusal(acquireLimits(env, principal({ tenantLimits: { max_concurrency: 4 } }), reservation));
    expect(err.message).toContain("concurrent requests on tenant ten_1: Limit 4, Used 4");
    expect(err.headers).toEqual({ "retry-after": "1", "retry-after-ms": "1000" });
  });

  it("answers an exhausted budget with insufficient_quota and x-should-retry: false", async () => {
    const { env } = fakeEnv(() => ({
      ok: false,
      refusal: { kind: "budget", subject: "key:key_1", limit: 5_000_000, used: 4_999_500, requested: 750, retryAfterMs: null },
      status: { requests: null, tokens: null },
    }));
    const err = await refusal(acquireLimits(env, principal({ keyBudget: { monthly_usd: 5 } }), reservation));
    expect(err.status).toBe(429);
    expect(err.code).toBe("insufficient_quota");
    expect(err.message).toContain("monthly budget of API key key_1: budget $5.00, spent or reserved $4.9995");
    expect(err.headers["x-should-retry"]).toBe("false");
    expect(Number(err.headers["retry-after"])).toBeGreaterThan(0);
  });

  it("refuses a request larger than the whole TPM without inviting retries", async () => {
    const { env } = fakeEnv(() => ({
      ok: false,
      refusal: { kind: "tokens", subject: "key:key_1", limit: 1000, used: 0, requested: 2000, retryAfterMs: null },
      status: { requests: null, tokens: { subject: "key:key_1", limit: 1000, remaining: 1000, resetMs: 0 } },
    }));
    const err = await refusal(acquireLimits(env, principal({ keyLimits: { tpm: 1000 } }), reservation));
    expect(err.code).toBe("rate_limit_exceeded");
    expect(err.message).toContain("Request too large for tokens per minute (TPM) on API key key_1: Limit 1000, Requested 2000");
    expect(err.headers["x-should-retry"]).toBe("false");
    expect(err.headers["retry-after"]).toBeUndefined();
  });

  it("fails closed with a retryable 503 when the limiter cannot be reached", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { env } = fakeEnv(() => Promise.reject(new Error("Durable Object is overloaded")));
    const err = await refusal(acquireLimits(env, principal({ keyLimits: { rpm: 5 } }), reservation));
    expect(err.status).toBe(503);
    expect(err.message).not.toContain("overloaded");
    expect(err.headers["retry-after"]).toBe("1");
  });
});

describe("settleLimits", () => {
  it("settles actual tokens and the actual cost priced by the served model", async () => {
    const { env, calls } = fakeEnv(() => admitted("lease-9"));
    const lease = await acquireLimits(env, principal({ keyBudget: { monthly_usd: 1 } }), reservation);
    await settleLimits(env, lease, { promptTokens: 1000, completionTokens: 100, cachedTokens: 400, model: "gpt-4o-mini-2024-07-18", provider: "openai" });
    // 600 × 0.15 + 400 × 0.075 + 100 × 0.60 = 90 + 30 + 60 µ$.
    expect(calls[1]).toEqual({ object: "key:key_1", method: "settleBatch", input: { settlements: [{ leaseId: "lease-9", tokens: 1100, costMicros: 180 }] } });
  });

  it("a finished request's settlement rides on the isolate's next acquire to the same object (one call per request)", async () => {
    const { env, calls } = fakeEnv(() => admitted("lease-2"));
    const usage = { promptTokens: 10, completionTokens: 5, cachedTokens: 0, model: null, provider: null };
    const first = await acquireLimits(env, principal({ keyLimits: { rpm: 50 } }), reservation);
    // Two requests end; the next acquire carries both settlements, and nothing is sent alone.
    const settled = [settleLimits(env, first, usage), settleLimits(env, first && { ...first, id: "lease-1b" }, usage)];
    await acquireLimits(env, principal({ keyLimits: { rpm: 50 } }), reservation);
    await Promise.all(settled);
    expect(calls.map((c) => c.method)).toEqual(["acquire", "acquire"]);
    expect(calls[1]!.input).toMatchObject({
      settle: [
        { leaseId: "lease-2", tokens: 15, costMicros: 0 },
        { leaseId: "lease-1b", tokens: 15, costMicros: 0 },
      ],
    });
    // Another object's acquire does not carry them; without an acquire they are sent alone, together.
    await settleLimits(env, first, usage);
    expect(calls.slice(2)).toEqual([
      { object: "key:key_1", method: "settleBatch", input: { settlements: [{ leaseId: "lease-2", tokens: 15, costMicros: 0 }] } },
    ]);
  });

  it("settlements an acquire carried are queued again when that acquire fails", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { env, calls } = fakeEnv(() => admitted("lease-3"));
    const lease = await acquireLimits(env, principal({ keyLimits: { rpm: 50 } }), reservation);
    const settled = settleLimits(env, lease, { promptTokens: 1, completionTokens: 1, cachedTokens: 0, model: null, provider: null });
    const failing = {
      ...env,
      RATE_LIMITER: { idFromName: () => ({}), get: () => ({ acquire: () => Promise.reject(new Error("gone")) }) },
    } as unknown as GatewayEnv;
    await expect(acquireLimits(failing, principal({ keyLimits: { rpm: 50 } }), reservation)).rejects.toMatchObject({ status: 503 });
    await settled;
    expect(calls.map((c) => c.method)).toEqual(["acquire", "settleBatch"]);
    expect(calls[1]!.input).toEqual({ settlements: [{ leaseId: "lease-3", tokens: 2, costMicros: 0 }] });
  });

  it("renews a running request's lease every interval until it is settled; a short request never renews", async () => {
    vi.useFakeTimers();
    try {
      const { env, calls } = fakeEnv(() => admitted("lease-long"));
      const usage = { promptTokens: 1, completionTokens: 1, cachedTokens: 0, model: null, provider: null };
      const short = await acquireLimits(env, principal({ keyLimits: { max_concurrency: 1 } }), reservation, 1000);
      await vi.advanceTimersByTimeAsync(999);
      const shortSettled = settleLimits(env, short, usage);
      await vi.advanceTimersByTimeAsync(10_000);
      await shortSettled;
      expect(calls.map((c) => c.method)).toEqual(["acquire", "settleBatch"]);

      calls.length = 0;
      const long = await acquireLimits(env, principal({ keyLimits: { max_concurrency: 1 } }), reservation, 1000);
      await vi.advanceTimersByTimeAsync(3500);
      expect(calls.filter((c) => c.method === "renew")).toEqual(Array(3).fill({ object: "key:key_1", method: "renew", input: { leaseId: "lease-long" } }));
      const longSettled = settleLimits(env, long, usage);
      await vi.advanceTimersByTimeAsync(10_000);
      await longSettled;
      expect(calls.map((c) => c.method)).toEqual(["acquire", "renew", "renew", "renew", "settleBatch"]);
    } finally {
      vi.useRealTimers();
    }
  });

  it("stops renewing a lease the limiter no longer holds open", async () => {
    vi.useFakeTimers();
    vi.spyOn(console, "error").mockImplementation(() => {});
    try {
      const renew = vi.fn(async () => ({ ok: true as const, renewed: false }));
      const env = {
        RATE_LIMITER: { idFromName: () => ({}), get: () => ({ acquire: async () => admitted(), renew }) },
        BILLING: {
          prices: async () => ({ ok: true as const, value: PRICES }),
          creditLimit: async () => ({ ok: true as const, value: { month: "2026-01", limit_micros: null } }),
        },
      } as unknown as GatewayEnv;
      await acquireLimits(env, principal({ keyLimits: { max_concurrency: 1 } }), reservation, 1000);
      await vi.advanceTimersByTimeAsync(5000);
      expect(renew).toHaveBeenCalledTimes(1);
    } finally {
      vi.useRealTimers();
    }
  });

  it("does nothing without a lease and never throws", async () => {
    vi.spyOn(console, "error").mockImplementation(() => {});
    const { env, calls } = fakeEnv(() => admitted());
    await settleLimits(env, null, { promptTokens: 1, completionTokens: 1, cachedTokens: 0, model: null, provider: null });
    expect(calls).toEqual([]);
    const lease = await acquireLimits(env, principal({ keyLimits: { rpm: 1 } }), reservation);
    const broken = {
      ...env,
      RATE_LIMITER: { idFromName: () => ({}), get: () => ({ settleBatch: () => Promise.reject(new Error("gone")) }) },
    } as unknown as GatewayEnv;
    await expect(settleLimits(broken, lease, { promptTokens: 1, completionTokens: 1, cachedTokens: 0, model: null, provider: null })).resolves.toBeUndefined();
  });
});
