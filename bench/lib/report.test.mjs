import { describe, expect, it } from "vitest";
import { deriveMode, measurement, renderMarkdown, renderTables } from "./report.mjs";

const mode = {
  direct: { p50: 0.2, p99: 0.6, n: 1000, rps: 12000 },
  floor: { p50: 0.45, p99: 1.0, n: 1000, rps: 4000 },
  relay: { p50: 0.75, p99: 1.5, n: 1000, rps: 2500 },
  chain: { p50: 1.05, p99: 2.1, n: 1000, rps: 2000 },
  "chain-limited": { p50: 1.35, p99: 2.6, n: 1000, rps: 1500 },
  portkey: { p50: 1.4, p99: 6.0, n: 1000, rps: 500 },
};

describe("deriveMode", () => {
  it("reports each target's latency over calling the upstream directly", () => {
    const d = deriveMode(mode);
    expect(d.targets["floor"]).toMatchObject({ added_p50: 0.25, added_p99: 0.4 });
    expect(d.targets["chain"]).toMatchObject({ added_p50: 0.85, added_p99: 1.5 });
  });

  it("isolates our own cost (chain − floor), the limiter's (limited − unlimited) and the throughput ratios", () => {
    const d = deriveMode(mode);
    expect(d.chain_over_floor_p50_ms).toBe(0.6);
    expect(d.chain_over_floor_p99_ms).toBe(1.1);
    expect(d.limiter_p50_ms).toBe(0.3);
    expect(d.limiter_p99_ms).toBe(0.5);
    expect(d.chain_vs_floor_rps).toBe(0.5);
    expect(d.limited_vs_unlimited_rps).toBe(0.75);
    expect(d.chain_vs_portkey_rps).toBe(4);
  });

  it("splits our cost into the three-Worker design's own (relay − floor) and our code's (chain − relay)", () => {
    const d = deriveMode(mode);
    expect(d.relay_over_floor_p50_ms).toBe(0.3);
    expect(d.chain_over_relay_p50_ms).toBe(0.3);
    expect(d.relay_vs_portkey_rps).toBe(5);
    const text = renderTables({ chat: d }, { concurrency: 32 });
    expect(text).toContain("the three-Worker design alone (relay − floor): +0.300 ms p50");
    expect(text).toContain("our code on top of it (chain − relay): +0.300 ms p50 (target: ≤ 0.3 ms chat, ≤ 0.5 ms stream)");
    expect(text).toContain("throughput relay/Portkey: 5.00×");
    expect(deriveMode({ ...mode, relay: { skipped: "not run" } }).chain_over_relay_p50_ms).toBeNull();
  });

  it("prints the chain's throughput as a share of the relay's, the issue's bar", () => {
    const d = deriveMode(mode);
    expect(d.chain_vs_relay_rps).toBe(0.8);
    expect(renderTables({ chat: d }, { concurrency: 32 })).toContain("throughput chain/relay: 0.80 (target: ≥ 0.75 chat, ≥ 0.60 stream)");
  });

  it("reports a skipped chain without failing: the relay's numbers stay, the chain's ratios are left out", () => {
    const d = deriveMode({ ...mode, chain: { skipped: "no 2xx response in 5 s at concurrency 32" } });
    expect(d.chain_over_relay_p50_ms).toBeNull();
    expect(d.chain_vs_relay_rps).toBeNull();
    const text = renderTables({ chat: d }, { concurrency: 32 });
    expect(text).toContain("the three-Worker design alone (relay − floor): +0.300 ms p50");
    expect(text).not.toContain("chain − relay");
    expect(text).toContain("chain skipped: no 2xx response in 5 s at concurrency 32");
  });

  it("leaves a ratio out when one side was skipped, and keeps the reason", () => {
    const d = deriveMode({ ...mode, portkey: { skipped: "not requested" }, "chain-limited": { skipped: "no limiter" } });
    expect(d.chain_vs_portkey_rps).toBeNull();
    expect(d.limiter_p50_ms).toBeNull();
    expect(d.targets["portkey"]).toEqual({ skipped: "not requested" });
  });

  it("needs the direct baseline", () => {
    expect(() => deriveMode({ floor: mode.floor })).toThrow(/direct/);
  });
});

describe("rendering", () => {
  it("prints one row per target with added latency and the headline numbers", () => {
    const text = renderTables({ chat: deriveMode({ ...mode, portkey: { skipped: "Portkey answered 500" } }) }, { concurrency: 32 });
    expect(text).toContain("req/s @32");
    expect(text).toMatch(/\| floor +\| +0\.450 \| +1\.000 \| +\+0\.250 \| +\+0\.400 \| +4000 \|/);
    expect(text).toContain("chain − floor: +0.600 ms p50");
    expect(text).toContain("limiter adds per request: +0.300 ms p50");
    expect(text).toContain("throughput limited/unlimited key: 0.75 (target: ≥ 0.75)");
    expect(text).toContain("portkey skipped: Portkey answered 500");
  });

  it("compares the floor under Miniflare's config with the bench's when both were measured", () => {
    const text = renderTables({ chat: deriveMode({ ...mode, "floor-miniflare": { p50: 5.3, p99: 17, n: 1000, rps: 318 } }) }, { concurrency: 32 });
    expect(text).toMatch(/\| floor-miniflare +\| +5\.300 \|/);
    expect(text).toContain("the floor under Miniflare's config adds +5.100 ms p50 at 318 req/s; under the bench's +0.250 ms at 4000 req/s");
  });

  it("renders the same numbers as Markdown", () => {
    const md = renderMarkdown({ "chat-stream": deriveMode(mode) }, { concurrency: 32 });
    expect(md).toContain("| chain | 1.050 | 2.100 | +0.850 | +1.500 | 2000 |");
    expect(md).toContain("- throughput chain/Portkey: 4.00× (target: ≥ 3×)");
  });
});

describe("measurement", () => {
  const plan = { latencySeconds: 8 };
  const throughput = { requests: 500, rps: 100, seconds: 5, connections: 32, latency: { p50: 3, p99: 9 } };

  it("summarises a target that answered", () => {
    expect(measurement([1, 2, 3, 4], throughput, plan)).toEqual({ p50: 2, p99: 4, n: 4, rps: 100, p50_at_concurrency: 3, p99_at_concurrency: 9 });
  });

  it("reports a target that produced no samples as skipped, with the reason, instead of failing the run", () => {
    const none = measurement([], throughput, plan);
    expect(none).toEqual({ skipped: "no 2xx response in 8 s at concurrency 1" });
    const silent = measurement([1, 2], { requests: 0, rps: 0, seconds: 5.04, connections: 32, latency: null }, plan);
    expect(silent).toEqual({ skipped: "no 2xx response in 5 s at concurrency 32" });
    const d = deriveMode({ ...mode, portkey: none });
    expect(d.chain_vs_portkey_rps).toBeNull();
    expect(renderTables({ chat: d }, { concurrency: 32 })).toContain("portkey skipped: no 2xx response in 8 s at concurrency 1");
  });
});
