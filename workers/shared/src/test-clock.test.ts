import { describe, expect, it } from "vitest";
import { seededRandom, TestClock, testClockAllowed } from "./test-clock";

describe("testClockAllowed", () => {
  it("only with ENVIRONMENT=test and TEST_CLOCK=true, never from the deployed configs' vars", () => {
    expect(testClockAllowed({ ENVIRONMENT: "test", TEST_CLOCK: "true" })).toBe(true);
    expect(testClockAllowed({ ENVIRONMENT: "development", TEST_CLOCK: "true" })).toBe(false);
    expect(testClockAllowed({ ENVIRONMENT: "production", TEST_CLOCK: "true" })).toBe(false);
    expect(testClockAllowed({ ENVIRONMENT: "test" })).toBe(false);
    expect(testClockAllowed({ ENVIRONMENT: "test", TEST_CLOCK: "1" })).toBe(false);
    expect(testClockAllowed({ ENVIRONMENT: "development" })).toBe(false);
    expect(testClockAllowed({})).toBe(false);
  });
});

describe("TestClock", () => {
  it("refuses to move where not allowed, and stays Date.now", () => {
    const clock = new TestClock(false, { stoppedAt: 0, offsetMs: 0 });
    expect(clock.advance(60_000)).toEqual({ ok: false, message: expect.stringContaining("only be moved in the test stack") });
    const before = Date.now();
    expect(clock.now()).toBeGreaterThanOrEqual(before);
    expect(clock.now()).toBeLessThan(before + 60_000);
  });

  it("stops at its first move and then passes only when moved", () => {
    const clock = new TestClock(true);
    const before = Date.now();
    const moved = clock.advance(0);
    expect(moved.ok).toBe(true);
    const stopped = clock.now();
    expect(stopped).toBeGreaterThanOrEqual(before);
    expect(clock.advance(57_000)).toEqual({ ok: true, state: { stoppedAt: stopped, offsetMs: 57_000 } });
    expect(clock.now()).toBe(stopped + 57_000);
    expect(clock.now()).toBe(stopped + 57_000);
  });

  it("resumes from a kept state (an evicted object) and never moves backwards or by junk", () => {
    const clock = new TestClock(true, { stoppedAt: 1_000, offsetMs: 500 });
    expect(clock.now()).toBe(1_500);
    for (const junk of [-1, 1.5, "10", Number.NaN, 86_400_001]) expect(clock.advance(junk).ok).toBe(false);
    expect(clock.now()).toBe(1_500);
  });
});

describe("seededRandom", () => {
  const test = { ENVIRONMENT: "test", TEST_CLOCK: "true" };

  it("repeats its sequence for a seed in the test stack, uniform in [0, 1)", () => {
    const a = seededRandom({ ...test, ROUTING_SEED: "20" });
    const b = seededRandom({ ...test, ROUTING_SEED: "20" });
    const draws = Array.from({ length: 10_000 }, () => a());
    expect(Array.from({ length: 10_000 }, () => b())).toEqual(draws);
    expect(Array.from({ length: 5 }, seededRandom({ ...test, ROUTING_SEED: "21" }))).not.toEqual(draws.slice(0, 5));
    for (const d of draws) expect(d >= 0 && d < 1).toBe(true);
    // Each tenth of [0, 1) gets its share (1 000 ± 5σ, σ = 30).
    const tenths = Array.from({ length: 10 }, (_, i) => draws.filter((d) => Math.floor(d * 10) === i).length);
    for (const n of tenths) expect(Math.abs(n - 1_000)).toBeLessThan(150);
  });

  it("is Math.random without a seed, and everywhere outside the test stack", () => {
    expect(seededRandom(test)).toBe(Math.random);
    expect(seededRandom({ ...test, ROUTING_SEED: "x" })).toBe(Math.random);
    expect(seededRandom({ ENVIRONMENT: "development", TEST_CLOCK: "true", ROUTING_SEED: "20" })).toBe(Math.random);
    expect(seededRandom({ ENVIRONMENT: "test", ROUTING_SEED: "20" })).toBe(Math.random);
  });
});
