import { env as testEnv, runInDurableObject } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { admit, CLOSED, onFailure, onSuccess, type CircuitBreaker, type CircuitConfig } from "./circuit-breaker";

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
