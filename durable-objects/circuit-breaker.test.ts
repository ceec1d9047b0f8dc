import { env as testEnv, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { admit, CLOSED, currentUsage, onFailure, onSuccess, takeUsage, type CircuitBreaker, type CircuitConfig } from "./circuit-breaker";

const cfg: CircuitConfig = { threshold: 3, windowMs: 10_000, cooldownMs: 1_000, probeLeaseMs: 5_000 };

describe("circuit state machine", () => {
  it("opens after the threshold of failures within the window", () => {
    let c = onFailure(CLOSED, 0, cfg);
    c = onFailure(c, 100, cfg);
    expect(c).toMatchObject({ phase: "closed", failures: 2 });
    c = onFailure(c, 200, cfg);
    expect(c).toMatchObject({ phase: "open", retryAt: 1_200 });
  });

  it("forgets failures older than the window", () => {
    let c = onFailure(CLOSED, 0, cfg);
    c = onFailure(c, 100, cfg);
    c = onFailure(c, 20_000, cfg);
    expect(c).toMatchObject({ phase: "closed", failures: 1 });
  });

  it("a success while closed resets the count", () => {
    const c = onSuccess(onFailure(onFailure(CLOSED, 0, cfg), 1, cfg));
    expect(c).toEqual(CLOSED);
  });

  it("refuses while cooling down, then grants exactly one probe lease", () => {
    const open = onFailure(onFailure(onFailure(CLOSED, 0, cfg), 0, cfg), 0, cfg);
    expect(admit(open, 999, cfg).allowed).toBe(false);
    const probe = admit(open, 1_000, cfg);
    expect(probe).toMatchObject({ allowed: true, probe: true, circuit: { phase: "half_open", probeUntil: 6_000 } });
    expect(admit(probe.circuit, 1_001, cfg).allowed).toBe(false);
    // A probe that never reports back does not wedge the circuit: its lease lapses.
    expect(admit(probe.circuit, 6_000, cfg)).toMatchObject({ allowed: true, probe: true });
  });

  it("closes when the probe succeeds and re-opens when it fails", () => {
    const open = onFailure(onFailure(onFailure(CLOSED, 0, cfg), 0, cfg), 0, cfg);
    const half = admit(open, 1_000, cfg).circuit;
    expect(onSuccess(half)).toEqual(CLOSED);
    expect(onFailure(half, 1_500, cfg)).toMatchObject({ phase: "open", retryAt: 2_500 });
  });

  it("ignores a straggler's outcome while open", () => {
    const open = onFailure(onFailure(onFailure(CLOSED, 0, cfg), 0, cfg), 0, cfg);
    expect(onSuccess(open)).toBe(open);
    expect(onFailure(open, 500, cfg)).toBe(open);
  });
});

describe("CircuitBreaker Durable Object", () => {
  const env = testEnv as unknown as ModelProxyEnv;

  it("is shared: failures reported through one stub are seen through another", async () => {
    const id = env.CIRCUIT_BREAKER.idFromName("prv_a/gpt-4o");
    const one = env.CIRCUIT_BREAKER.get(id);
    const two = env.CIRCUIT_BREAKER.get(env.CIRCUIT_BREAKER.idFromName("prv_a/gpt-4o"));
    await one.failure(cfg, 0);
    await one.failure(cfg, 0);
    expect(await two.failure(cfg, 0)).toMatchObject({ phase: "open", retryAt: 1_000 });
    expect(await two.state()).toMatchObject({ phase: "open" });
    expect(await one.admit(cfg, 500)).toMatchObject({ allowed: false });
    expect(await two.admit(cfg, 1_000)).toMatchObject({ allowed: true, probe: true });
    expect(await one.success()).toMatchObject({ phase: "closed" });
  });

  it("persists an open circuit so eviction does not close it", async () => {
    const stub = env.CIRCUIT_BREAKER.get(env.CIRCUIT_BREAKER.idFromName("prv_b/m"));
    for (let i = 0; i < 3; i++) await stub.failure(cfg, 0);
    const stored = await runInDurableObject(stub, (_instance: CircuitBreaker, state) => state.storage.kv.get("circuit"));
    expect(stored).toMatchObject({ phase: "open", retryAt: 1_000 });
  });

  it("keeps circuits of different deployments apart", async () => {
    const a = env.CIRCUIT_BREAKER.get(env.CIRCUIT_BREAKER.idFromName("prv_c/m1"));
    const b = env.CIRCUIT_BREAKER.get(env.CIRCUIT_BREAKER.idFromName("prv_c/m2"));
    for (let i = 0; i < 3; i++) await a.failure(cfg, 0);
    expect(await a.state()).toMatchObject({ phase: "open" });
    expect(await b.state()).toMatchObject({ phase: "closed" });
  });
});

describe("per-minute usage (LiteLLM rpm/tpm)", () => {
  const idle = { minute: 0, requests: 0, tokens: 0 };

  it("takes requests up to rpm within a minute and refuses the next until the minute ends", () => {
    let u = idle;
    for (let i = 0; i < 2; i++) {
      const d = takeUsage(u, { rpm: 2 }, 10, 60_000 + i);
      expect(d.allowed).toBe(true);
      u = d.usage;
    }
    expect(takeUsage(u, { rpm: 2 }, 10, 61_000)).toEqual({ allowed: false, retryAt: 120_000, usage: { minute: 1, requests: 2, tokens: 20 } });
    expect(takeUsage(u, { rpm: 2 }, 10, 120_000)).toMatchObject({ allowed: true, usage: { minute: 2, requests: 1, tokens: 10 } });
  });

  it("refuses a request that would pass tpm, but lets an oversized one through on an idle minute", () => {
    const first = takeUsage(idle, { tpm: 100 }, 500, 0);
    expect(first).toMatchObject({ allowed: true, usage: { tokens: 500 } });
    expect(takeUsage(first.usage, { tpm: 100 }, 1, 10)).toMatchObject({ allowed: false, retryAt: 60_000 });
    expect(currentUsage(first.usage, 60_000)).toEqual({ minute: 1, requests: 0, tokens: 0 });
  });

  it("counts every isolate's requests in the deployment's object", async () => {
    const ns = (testEnv as unknown as ModelProxyEnv).CIRCUIT_BREAKER;
    const stub = ns.get(ns.idFromName("usage/p/m"));
    expect(await stub.take({ rpm: 1 }, 5, 0)).toMatchObject({ allowed: true });
    expect(await stub.take({ rpm: 1 }, 5, 1)).toMatchObject({ allowed: false, retryAt: 60_000 });
    expect(await stub.usage(2)).toEqual({ minute: 0, requests: 1, tokens: 5 });
  });
});
