import { describe, expect, it } from "vitest";
import { LatencyTracker } from "./latency";

describe("LatencyTracker", () => {
  it("keeps an exponentially weighted average per target", () => {
    const t = new LatencyTracker(0.5);
    expect(t.get("a")).toBeNull();
    t.record("a", 100);
    t.record("a", 200);
    expect(t.get("a")).toBe(150);
  });

  it("counts a failure as at least twice as slow", () => {
    const t = new LatencyTracker(1);
    t.record("a", 100);
    t.penalise("a", 10);
    expect(t.get("a")).toBe(200);
  });
});
