import { describe, expect, it } from "vitest";
import { analyzeTrace, renderBreakdown } from "./breakdown.mjs";

// Times in the trace are ns since the header's epochUnixMs; here the epoch is 1 000 000 ms.
const at = (/** @type {number} */ ms) => (ms - 1_000_000) * 1e6;
const trace = [
  { e: "header", v: 1, producer: "workerd", epochUnixMs: 1_000_000 },
  { e: "ctx", ctx: 1, worker: "core:user:gateway", actor: null, at: at(1_000_010) },
  { e: "ctx", ctx: 2, worker: "core:user:rate-limiter", actor: "abc", at: at(1_000_010) },
  { e: "ctx", ctx: 3, worker: "core:user:gateway", actor: null, at: at(1_000_020) },
  { e: "ctx", ctx: 4, worker: "core:user:gateway", actor: null, at: at(2_000_010) },
  { e: "init", ctx: 1, id: 5, kind: "operation", name: "durable_object_subrequest", at: at(1_000_011) },
  { e: "init", ctx: 1, id: 6, kind: "operation", name: "queue_send", at: at(1_000_012) },
  { e: "init", ctx: 3, id: 7, kind: "operation", name: "queue_send", at: at(1_000_021) },
  // gateway: 300 µs + 100 µs in request 1, 200 µs in request 2 (lock wait before `locked` is not counted)
  { e: "turn", ctx: 1, cause: 1, start: at(1_000_010), locked: at(1_000_010) + 50_000, end: at(1_000_010) + 350_000 },
  { e: "turn", ctx: 1, cause: 2, start: at(1_000_013), locked: at(1_000_013), end: at(1_000_013) + 100_000 },
  { e: "turn", ctx: 3, cause: 1, start: at(1_000_020), locked: at(1_000_020), end: at(1_000_020) + 200_000 },
  // the limiter object: 150 µs
  { e: "turn", ctx: 2, cause: 1, start: at(1_000_011), locked: at(1_000_011), end: at(1_000_011) + 150_000 },
  // outside every window
  { e: "turn", ctx: 4, cause: 1, start: at(2_000_010), locked: at(2_000_010), end: at(2_000_010) + 999_000 },
].map((e) => JSON.stringify(e));

describe("analyzeTrace", () => {
  const result = analyzeTrace(trace, [{ name: "chain", startMs: 1_000_000, endMs: 1_001_000, requests: 2 }]);

  it("sums each Worker's JavaScript time holding the lock, per request, heaviest first", () => {
    expect(result["chain"]?.workers).toEqual([
      { worker: "gateway", jsUs: 300, turns: 1.5, medianUs: 300 },
      { worker: "rate-limiter (DO)", jsUs: 75, turns: 0.5, medianUs: 75 },
    ]);
    expect(result["chain"]?.totalJsUs).toBe(375);
  });

  it("counts binding operations per request", () => {
    expect(result["chain"]?.operations).toEqual([
      { worker: "gateway", name: "queue_send", perRequest: 1 },
      { worker: "gateway", name: "durable_object_subrequest", perRequest: 0.5 },
    ]);
  });

  it("leaves out what happened outside the window", () => {
    const other = analyzeTrace(trace, [{ name: "later", startMs: 2_000_000, endMs: 2_001_000, requests: 1 }]);
    expect(other["later"]?.workers).toEqual([{ worker: "gateway", jsUs: 999, turns: 1, medianUs: 999 }]);
  });

  it("also gives the median request's time per Worker, which a preempted turn does not drag up", () => {
    const ctx = (/** @type {number} */ id) => JSON.stringify({ e: "ctx", ctx: id, worker: "core:user:tail", actor: null, at: at(1_000_001) });
    const turn = (/** @type {number} */ id, /** @type {number} */ us) =>
      JSON.stringify({ e: "turn", ctx: id, cause: 1, start: at(1_000_002), locked: at(1_000_002), end: at(1_000_002) + us * 1000 });
    const lines = [trace[0] ?? "", ctx(1), ctx(2), ctx(3), turn(1, 100), turn(2, 120), turn(3, 2000)];
    expect(analyzeTrace(lines, [{ name: "w", startMs: 1_000_000, endMs: 1_001_000, requests: 3 }])["w"]?.workers).toEqual([
      { worker: "tail", jsUs: 740, turns: 1, medianUs: 120 },
    ]);
  });

  it("renders one line per Worker", () => {
    const text = renderBreakdown(result);
    expect(text).toContain("chain: 375.0 µs of JavaScript per request (2 requests)");
    expect(text).toMatch(/gateway +300\.0 µs +1\.50 turns/);
    expect(text).toContain("gateway: queue_send ×1");
  });
});
