import { describe, expect, it } from "vitest";
import { TestClock, testClockAllowed } from "./test-clock";

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
