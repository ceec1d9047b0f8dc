import type { MiddlewareHandler } from "hono";
import { GATEWAY_CLOCK_OBJECT, testClockAllowed } from "../../../shared/src/test-clock";
import type { GatewayBindings } from "../types";

/**
 * The clock of this isolate's in-memory caches (principals, prices, route targets): `Date.now()`,
 * except in the test stack, where it runs ahead by however far a test moved the gateway's clock
 * (`GATEWAY_CLOCK_OBJECT`, workers/shared/src/test-clock.ts). Every gateway isolate reads that
 * offset at the start of every request, so a test that moves the clock past a cache's lifetime
 * (contracts/propagation.ts) sees every isolate's copy expire — the tests hold the gateway to its
 * documented propagation bounds without depending on how many isolates there are.
 */
let offsetMs = 0;

export const cacheNow = (): number => Date.now() + offsetMs;

/** For unit tests: back to `Date.now`. */
export function resetCacheClock(): void {
  offsetMs = 0;
}

/**
 * Test stack only (`ENVIRONMENT=test`, `TEST_CLOCK=true`, set by test/support/stack.ts and no
 * wrangler config): reads the gateway clock's offset before the request runs. Elsewhere a no-op.
 */
export function testClock(): MiddlewareHandler<GatewayBindings> {
  return async function testClockMiddleware(c, next) {
    // `c.env` is absent when a unit test runs the app without bindings (`app.request(path)`).
    if (c.env !== undefined && testClockAllowed(c.env)) {
      const object = c.env.RATE_LIMITER.get(c.env.RATE_LIMITER.idFromName(GATEWAY_CLOCK_OBJECT));
      const offset: unknown = await object.clockOffset();
      // The clock only moves forward; an isolate never steps back.
      if (typeof offset === "number" && Number.isFinite(offset)) offsetMs = Math.max(offsetMs, offset);
    }
    await next();
  };
}
