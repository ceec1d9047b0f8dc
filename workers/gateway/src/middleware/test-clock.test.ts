import { Hono } from "hono";
import { describe, expect, it, vi } from "vitest";
import { GATEWAY_CLOCK_OBJECT } from "../../../shared/src/test-clock";
import type { GatewayBindings } from "../types";
import { cacheNow, resetCacheClock, testClock } from "./test-clock";

/** The middleware with a stand-in RateLimiter namespace whose gateway-clock object answers `offsets` in turn. */
function harness(vars: Record<string, string>, offsets: number[]) {
  const clockOffset = vi.fn(async () => offsets.shift() ?? 0);
  const idFromName = vi.fn((name: string) => name);
  const app = new Hono<GatewayBindings>();
  app.use("*", testClock());
  app.get("/now", (c) => c.json({ ahead: cacheNow() - Date.now() }));
  const env = { ...vars, RATE_LIMITER: { idFromName, get: () => ({ clockOffset }) } } as unknown as GatewayEnv;
  const ahead = async () => ((await (await app.request("/now", {}, env)).json()) as { ahead: number }).ahead;
  return { ahead, clockOffset, idFromName };
}

describe("the gateway's cache clock", () => {
  it("outside the test stack: Date.now, and no call at all", async () => {
    const cases: Record<string, string>[] = [{ ENVIRONMENT: "development" }, { ENVIRONMENT: "test" }, { ENVIRONMENT: "production", TEST_CLOCK: "true" }];
    for (const vars of cases) {
      const { ahead, clockOffset } = harness(vars, [60_000]);
      expect(await ahead()).toBeLessThan(1_000);
      expect(clockOffset).not.toHaveBeenCalled();
    }
  });

  it("in the test stack: ahead by the offset of the gateway-clock object, read on every request, never stepping back", async () => {
    vi.useFakeTimers({ now: 1_000_000 });
    try {
      const { ahead, clockOffset, idFromName } = harness({ ENVIRONMENT: "test", TEST_CLOCK: "true" }, [0, 2_000, 62_000, 5]);
      expect(await ahead()).toBe(0);
      expect(await ahead()).toBe(2_000);
      expect(await ahead()).toBe(62_000);
      expect(await ahead()).toBe(62_000);
      expect(clockOffset).toHaveBeenCalledTimes(4);
      expect(idFromName).toHaveBeenCalledWith(GATEWAY_CLOCK_OBJECT);
    } finally {
      vi.useRealTimers();
      resetCacheClock();
    }
  });
});
