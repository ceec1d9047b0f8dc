import { describe, expect, it } from "vitest";
import { retryDelayMs } from "./backoff";

const policy = { baseMs: 100, capMs: 1_000, maxMs: 3_000 };

describe("retryDelayMs", () => {
  it("grows exponentially with jitter between half and all of the step, up to the cap", () => {
    expect(retryDelayMs(1, null, policy, () => 0)).toBe(50);
    expect(retryDelayMs(1, null, policy, () => 0.999)).toBe(100);
    expect(retryDelayMs(2, null, policy, () => 0)).toBe(100);
    expect(retryDelayMs(3, null, policy, () => 0)).toBe(200);
    expect(retryDelayMs(10, null, policy, () => 0.999)).toBe(1000);
  });

  it("never retries sooner than the upstream's retry-after", () => {
    expect(retryDelayMs(1, 2_000, policy, () => 0)).toBe(2_000);
  });

  it("gives up on the target when retry-after is longer than a request should wait", () => {
    expect(retryDelayMs(1, 30_000, policy, () => 0)).toBeNull();
  });
});
