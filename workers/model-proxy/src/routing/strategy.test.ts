import { describe, expect, it } from "vitest";
import { orderByTier, orderTargets, weightedOrder } from "./strategy";
import { seeded } from "./test-support";

const A = { key: "a", weight: 3 };
const B = { key: "b", weight: 1 };
const C = { key: "c", weight: 0 };
const noLatency = () => null;

describe("orderTargets", () => {
  it("fallback keeps the configured order", () => {
    expect(orderTargets("fallback", [B, A, C], { random: Math.random, latencyOf: noLatency }).map((t) => t.key)).toEqual(["b", "a", "c"]);
  });

  it("weighted returns every target once and splits the first choice by weight", () => {
    const random = seeded(42);
    const firsts = { a: 0, b: 0, c: 0 };
    for (let i = 0; i < 4000; i++) {
      const order = orderTargets("weighted", [A, B, C], { random, latencyOf: noLatency });
      expect(order.map((t) => t.key).sort()).toEqual(["a", "b", "c"]);
      firsts[order[0]!.key as "a" | "b" | "c"]++;
    }
    expect(firsts.c).toBe(0); // weight 0: only ever a last resort
    expect(firsts.a / 4000).toBeGreaterThan(0.72);
    expect(firsts.a / 4000).toBeLessThan(0.78);
  });

  it("least-latency measures unmeasured targets first, then prefers the fastest", () => {
    const latency: Record<string, number | null> = { a: 120, b: null, c: 40 };
    const ctx = { random: () => 0.99, latencyOf: (k: string) => latency[k] ?? null };
    expect(orderTargets("least-latency", [A, B, C], ctx).map((t) => t.key)).toEqual(["b", "c", "a"]);
    latency["b"] = 500;
    expect(orderTargets("least-latency", [A, B, C], ctx).map((t) => t.key)).toEqual(["c", "a", "b"]);
  });

  it("least-latency explores a small share of requests in weighted order", () => {
    const ctx = { random: () => 0.01, latencyOf: (k: string) => ({ a: 500, b: 10 })[k] ?? null, exploreRate: 0.05 };
    // random() = 0.01 < 0.05 explores; the weighted draw with 0.01 picks the first target.
    expect(orderTargets("least-latency", [A, B], ctx)[0]!.key).toBe("a");
  });
});

describe("weightedOrder", () => {
  it("handles all-zero weights by keeping the order", () => {
    expect(
      weightedOrder(
        [
          { key: "x", weight: 0 },
          { key: "y", weight: 0 },
        ],
        () => 0.5,
      ).map((t) => t.key),
    ).toEqual(["x", "y"]);
  });
});

describe("LiteLLM strategies", () => {
  it("least-busy prefers the target with the fewest requests in flight", () => {
    const busy: Record<string, number> = { a: 2, b: 0, c: 1 };
    const order = orderTargets("least-busy", [A, B, C], { random: seeded(1), latencyOf: noLatency, busyOf: (k) => busy[k]! });
    expect(order.map((t) => t.key)).toEqual(["b", "c", "a"]);
  });

  it("usage-based prefers the target that used the fewest tokens this minute", () => {
    const used: Record<string, number> = { a: 900, b: 10, c: 300 };
    const order = orderTargets("usage-based", [A, B, C], { random: seeded(1), latencyOf: noLatency, usageOf: (k) => used[k]! });
    expect(order.map((t) => t.key)).toEqual(["b", "c", "a"]);
  });

  it("order tiers come first, the strategy choosing within a tier; targets without an order come last", () => {
    const targets = [
      { key: "x", weight: 1 },
      { key: "y", weight: 1, order: 2 },
      { key: "z", weight: 1, order: 1 },
    ];
    expect(orderByTier("fallback", targets, { random: seeded(1), latencyOf: noLatency }).map((t) => t.key)).toEqual(["z", "y", "x"]);
  });
});
