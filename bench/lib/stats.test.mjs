import { describe, expect, it } from "vitest";
import { percentile, summarize } from "./stats.mjs";

describe("percentile", () => {
  const hundred = Array.from({ length: 100 }, (_, i) => i + 1); // 1..100

  it("takes the nearest rank, so p50 of 1..100 is 50 and p99 is 99", () => {
    expect(percentile(hundred, 50)).toBe(50);
    expect(percentile(hundred, 99)).toBe(99);
    expect(percentile(hundred, 100)).toBe(100);
  });

  it("keeps sub-millisecond resolution", () => {
    expect(percentile([0.21, 0.26, 0.35], 50)).toBe(0.26);
  });

  it("refuses an empty sample", () => {
    expect(() => percentile([], 50)).toThrow(/no samples/);
  });
});

describe("summarize", () => {
  it("sorts unsorted samples before ranking them", () => {
    const s = summarize([0.5, 0.1, 0.4, 0.2, 0.3]);
    expect(s).toMatchObject({ n: 5, p50: 0.3, p99: 0.5 });
    expect(s.mean).toBeCloseTo(0.3);
  });
});
