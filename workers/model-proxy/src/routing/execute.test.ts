import { describe, expect, it } from "vitest";
import { ApiError, type ApiErrorInit } from "../../../shared/src";
import { UpstreamFailure } from "../providers/upstream-errors";
import { Breakers } from "./breaker";
import { runRoute, gatewayHeaders, type RoutedTarget, type RoutePlan } from "./execute";
import { LatencyTracker } from "./latency";
import { memoryCircuitStore, seeded } from "./test-support";

const T = (name: string, weight = 1): RoutedTarget => ({ key: `${name}/m`, providerName: name, model: "m", weight, timeoutMs: 1_000 });
const A = T("a");
const B = T("b");
const C = T("c");

type Script = Record<string, (() => Promise<Response>)[]>;
const ok =
  (body = "ok") =>
  () =>
    Promise.resolve(new Response(body));
/** What adapters throw for an upstream's failure (fetchUpstream). */
const fail = (error: ApiErrorInit) => () => Promise.reject(new UpstreamFailure(error));
const E500: ApiErrorInit = { code: "upstream_error", message: "Provider 'x' failed (HTTP 500)." };
const E429: ApiErrorInit = { code: "upstream_rate_limited", message: "slow down", headers: { "retry-after": "1" } };
const E400: ApiErrorInit = { code: "invalid_request", message: "bad param", param: "temperature", status: 400 };
const hang = () => () => new Promise<Response>(() => {});

/** A router over scripted upstreams: each target answers its script in order; calls are recorded. */
function harness(script: Script, cfg = { threshold: 5, windowMs: 60_000, cooldownMs: 60_000, probeLeaseMs: 60_000 }) {
  const calls: string[] = [];
  const sleeps: number[] = [];
  const circuits = memoryCircuitStore();
  const breakers = new Breakers(circuits.store, cfg);
  const background: Promise<unknown>[] = [];
  const deps = {
    breakers,
    latency: new LatencyTracker(),
    random: seeded(7),
    background: (p: Promise<unknown>) => void background.push(p),
    sleep: async (ms: number) => void sleeps.push(ms),
    attempt: (target: RoutedTarget) => {
      calls.push(target.providerName);
      const next = script[target.providerName]?.shift();
      if (!next) throw new Error(`no scripted answer for ${target.providerName}`);
      return next();
    },
  };
  const plan = (targets: RoutedTarget[], extra: Partial<RoutePlan<RoutedTarget>> = {}): RoutePlan<RoutedTarget> => ({
    requested: "alias",
    strategy: "fallback",
    targets,
    retries: 0,
    timeoutMs: null,
    stream: false,
    ...extra,
  });
  return { calls, sleeps, deps, plan, circuits, flush: () => Promise.all(background.splice(0)) };
}

describe("runRoute", () => {
  it("falls back to the next target when the first fails with a 500, and reports both attempts", async () => {
    const h = harness({ a: [fail(E500)], b: [ok("from b")] });
    const result = await runRoute(h.plan([A, B]), h.deps);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(await result.response.text()).toBe("from b");
    expect(h.calls).toEqual(["a", "b"]);
    expect(result.attempts.map((a) => `${a.provider}:${a.outcome}`)).toEqual(["a:upstream_error", "b:ok"]);
    expect(gatewayHeaders(result)).toEqual({ "x-gateway-provider": "b", "x-gateway-model": "m", "x-gateway-attempts": "2" });
  });

  it("retries the same target with backoff before falling back", async () => {
    const h = harness({ a: [fail(E500), fail(E500), ok("a third time")] });
    const result = await runRoute(h.plan([A, B], { retries: 2 }), h.deps);
    expect(result.ok && (await result.response.text())).toBe("a third time");
    expect(h.calls).toEqual(["a", "a", "a"]);
    expect(h.sleeps).toHaveLength(2);
    expect(h.sleeps[1]!).toBeGreaterThanOrEqual(h.sleeps[0]! / 2);
  });

  it("does not wait out a 429 while another target can serve", async () => {
    const h = harness({ a: [fail(E429)], b: [ok()] });
    const result = await runRoute(h.plan([A, B], { retries: 3 }), h.deps);
    expect(result.ok).toBe(true);
    expect(h.calls).toEqual(["a", "b"]);
    expect(h.sleeps).toEqual([]);
  });

  it("honours retry-after when the rate-limited target is the last one", async () => {
    const h = harness({ a: [fail(E429), ok()] });
    const result = await runRoute(h.plan([A], { retries: 1 }), h.deps);
    expect(result.ok).toBe(true);
    expect(h.sleeps).toEqual([1000]);
  });

  it("returns the upstream's 400 at once: the same request would fail everywhere", async () => {
    const h = harness({ a: [fail(E400)], b: [ok()] });
    const result = await runRoute(h.plan([A, B], { retries: 2 }), h.deps);
    expect(result).toMatchObject({ ok: false, error: { code: "invalid_request", param: "temperature" } });
    expect(h.calls).toEqual(["a"]);
  });

  it("times an attempt out and falls back", async () => {
    const h = harness({ a: [hang()], b: [ok()] });
    const result = await runRoute(h.plan([A, B], { timeoutMs: 20 }), h.deps);
    expect(result.ok).toBe(true);
    expect(result.attempts.map((a) => a.outcome)).toEqual(["upstream_timeout", "ok"]);
  });

  it("marks only attempts its own timeout gave up on as abandoned (the upstream bills those), not ones the upstream answered", async () => {
    const h = harness({ a: [hang()], b: [fail(E500)], c: [ok()] });
    const result = await runRoute(h.plan([A, B, C], { timeoutMs: 20 }), h.deps);
    expect(result.attempts.map((a) => [a.provider, a.abandoned === true])).toEqual([
      ["a", true],
      ["b", false],
      ["c", false],
    ]);
  });

  it("returns the last error with every attempt when all targets fail", async () => {
    const h = harness({ a: [fail(E500)], b: [fail({ code: "upstream_timeout", message: "Provider 'b' timed out." })] });
    const result = await runRoute(h.plan([A, B]), h.deps);
    expect(result).toMatchObject({ ok: false, error: { code: "upstream_timeout" } });
    expect(gatewayHeaders(result)).toEqual({ "x-gateway-provider": "b", "x-gateway-model": "m", "x-gateway-attempts": "2" });
  });

  it("skips a target whose circuit is open, and fails fast with retry-after when every circuit is open", async () => {
    const cfg = { threshold: 1, windowMs: 60_000, cooldownMs: 30_000, probeLeaseMs: 60_000 };
    const h = harness({ a: [fail(E500)], b: [ok(), fail(E500)] }, cfg);
    await runRoute(h.plan([A, B]), h.deps);
    expect(h.calls).toEqual(["a", "b"]);
    const second = await runRoute(h.plan([A, B]), h.deps);
    expect(h.calls).toEqual(["a", "b", "b"]);
    expect(second).toMatchObject({ ok: false, error: { code: "upstream_error" } });
    const third = await runRoute(h.plan([A, B]), h.deps);
    expect(h.calls).toHaveLength(3);
    expect(third).toMatchObject({ ok: false, error: { code: "upstream_unavailable", headers: { "retry-after": "30" } } });
    expect(third.attempts).toEqual([]);
  });

  it("answers 500 for an error raised while preparing the request, tries the next target, and counts it toward no circuit", async () => {
    const cfg = { threshold: 1, windowMs: 60_000, cooldownMs: 30_000, probeLeaseMs: 60_000 };
    const bug = () => () => Promise.reject(new TypeError("Cannot read properties of undefined (reading 'map')"));
    const refused = () => () => Promise.reject(new ApiError({ code: "upstream_error", message: "Provider 'a' returned a response that is not JSON." }));
    const h = harness({ a: [bug(), refused(), bug()], b: [ok(), ok()] }, cfg);
    const first = await runRoute(h.plan([A, B]), h.deps);
    expect(first.ok && first.target.providerName).toBe("b");
    expect(first.attempts.map((a) => a.outcome)).toEqual(["internal_error", "ok"]);
    await runRoute(h.plan([A, B]), h.deps);
    const alone = await runRoute(h.plan([A]), h.deps);
    expect(alone).toMatchObject({ ok: false, error: { code: "internal_error" } });
    expect(h.calls).toEqual(["a", "b", "a", "b", "a"]);
    expect(h.circuits.calls.filter((c) => c.startsWith("failure:"))).toEqual([]);
  });

  it("counts a timeout under a tenant route's shorter timeout toward the tenant's circuit only", async () => {
    const cfg = { threshold: 1, windowMs: 60_000, cooldownMs: 30_000, probeLeaseMs: 60_000 };
    const shared: RoutedTarget = { ...A, timeoutMs: 1_000 };
    const viaTenantRoute: RoutedTarget = { ...shared, tenantKey: "tenant:t1/a/m" };
    const h = harness({ a: [hang(), ok("shared")], b: [ok("b"), ok("b")] }, cfg);
    const first = await runRoute(h.plan([viaTenantRoute, B], { timeoutMs: 20 }), h.deps);
    expect(first.attempts.map((a) => a.outcome)).toEqual(["upstream_timeout", "ok"]);
    expect(h.circuits.calls.filter((c) => c.startsWith("failure:"))).toEqual(["failure:tenant:t1/a/m"]);
    // The tenant's own route now skips the target; everyone else (the provider's own timeout) still reaches it.
    const again = await runRoute(h.plan([viaTenantRoute, B], { timeoutMs: 20 }), h.deps);
    expect(again.ok && again.target.providerName).toBe("b");
    expect(again.attempts).toHaveLength(1);
    const other = await runRoute(h.plan([shared, B]), h.deps);
    expect(other.ok && (await other.response.text())).toBe("shared");
  });

  it("counts a timeout under the provider's own timeout toward the shared circuit, also on a tenant's route", async () => {
    const cfg = { threshold: 1, windowMs: 60_000, cooldownMs: 30_000, probeLeaseMs: 60_000 };
    const viaTenantRoute: RoutedTarget = { ...A, timeoutMs: 20, tenantKey: "tenant:t1/a/m" };
    const h = harness({ a: [hang()], b: [ok()] }, cfg);
    await runRoute(h.plan([viaTenantRoute, B], { timeoutMs: 20 }), h.deps);
    expect(h.circuits.calls.filter((c) => c.startsWith("failure:"))).toEqual(["failure:a/m"]);
  });

  it("uses the weighted strategy's order", async () => {
    const h = harness({ a: Array.from({ length: 400 }, () => ok("a")), b: Array.from({ length: 400 }, () => ok("b")) });
    const served = { a: 0, b: 0 };
    for (let i = 0; i < 400; i++) {
      const r = await runRoute(h.plan([T("a", 3), T("b", 1)], { strategy: "weighted" }), h.deps);
      if (r.ok) served[r.target.providerName as "a" | "b"]++;
    }
    expect(served.a + served.b).toBe(400);
    expect(served.a / 400).toBeGreaterThan(0.68);
    expect(served.a / 400).toBeLessThan(0.82);
  });
});

describe("runRoute with streams", () => {
  const sse =
    (chunks: string[], breakAfter = false) =>
    () => {
      const enc = new TextEncoder();
      let i = 0;
      return Promise.resolve(
        new Response(
          new ReadableStream<Uint8Array>({
            pull(c) {
              if (i < chunks.length) c.enqueue(enc.encode(chunks[i++]!));
              else if (breakAfter) c.error(new Error("connection reset"));
              else c.close();
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
      );
    };

  it("falls back when a stream breaks before its first byte", async () => {
    const h = harness({ a: [sse([], true)], b: [sse(["data: b\n\n", "data: [DONE]\n\n"])] });
    const result = await runRoute(h.plan([A, B], { stream: true }), h.deps);
    expect(result.ok && (await result.response.text())).toBe("data: b\n\ndata: [DONE]\n\n");
    expect(h.calls).toEqual(["a", "b"]);
  });

  it("falls back when a stream ends without any data", async () => {
    const h = harness({ a: [sse([])], b: [sse(["data: b\n\n"])] });
    const result = await runRoute(h.plan([A, B], { stream: true }), h.deps);
    expect(result.ok && result.target.providerName).toBe("b");
  });

  it("commits once the first byte arrived: a later break is the stream's, not a fallback", async () => {
    const h = harness({ a: [sse(["data: a1\n\n"], true)], b: [sse(["data: b\n\n"])] });
    const result = await runRoute(h.plan([A, B], { stream: true }), h.deps);
    expect(result.ok).toBe(true);
    if (!result.ok) return;
    expect(result.target.providerName).toBe("a");
    const reader = result.response.body!.getReader();
    expect(new TextDecoder().decode((await reader.read()).value)).toBe("data: a1\n\n");
    await expect(reader.read()).rejects.toThrow();
    expect(h.calls).toEqual(["a"]);
  });

  it("times out a stream that stays silent before its first byte, and not after it", async () => {
    const silent = () => Promise.resolve(new Response(new ReadableStream({ pull: () => new Promise(() => {}) })));
    const h = harness({ a: [silent], b: [sse(["data: b\n\n"])] });
    const result = await runRoute(h.plan([A, B], { stream: true, timeoutMs: 20 }), h.deps);
    expect(result.ok && result.target.providerName).toBe("b");
    expect(result.attempts[0]!.outcome).toBe("upstream_timeout");
  });
});
