import { CREDITS_TTL_MS, PRICE_TTL_MS, PRINCIPAL_CACHE_TTL_MS, TARGETS_TTL_MS } from "../../workers/shared/src/contracts/propagation";
import { GATEWAY_CLOCK_OBJECT } from "../../workers/shared/src/test-clock";
import { advanceLimiterClock } from "./limiter";
import type { Stack } from "./stack";

/**
 * An admin change reaches every gateway isolate within a documented bound
 * (workers/shared/src/contracts/propagation.ts): the isolate that made it at once, every other once
 * its in-memory copy expires. A test that changes something and then expects the gateway to honour
 * it calls one of these first: it moves the gateway's clock past that bound (every isolate reads it
 * on every request, workers/gateway/src/middleware/test-clock.ts), so the test holds whether the
 * next request meets the isolate that made the change or any other — it does not depend on there
 * being one gateway isolate — and it waits for nothing.
 */

/** After a key or tenant change (revoke, rotate, scopes, models, limits, budget, disable): the principal cache's bound. */
export async function afterKeyChange(stack: Stack): Promise<void> {
  await advanceLimiterClock(stack, GATEWAY_CLOCK_OBJECT, PRINCIPAL_CACHE_TTL_MS);
}

/** After a price change (/admin/prices): the price table's bound. */
export async function afterPriceChange(stack: Stack): Promise<void> {
  await advanceLimiterClock(stack, GATEWAY_CLOCK_OBJECT, PRICE_TTL_MS);
}

/** After a route change, for what a limited key reserves: the route-targets cache's bound. */
export async function afterRouteChange(stack: Stack): Promise<void> {
  await advanceLimiterClock(stack, GATEWAY_CLOCK_OBJECT, TARGETS_TTL_MS);
}

/** After a credit grant (/admin/tenants/{id}/credits): a prepaid tenant's month-limit cache's bound. */
export async function afterCreditChange(stack: Stack): Promise<void> {
  await advanceLimiterClock(stack, GATEWAY_CLOCK_OBJECT, CREDITS_TTL_MS);
}
