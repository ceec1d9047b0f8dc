import { ApiError, monthOf, type Principal } from "../../../shared/src";
import { CREDITS_TTL_MS } from "../../../shared/src/contracts/propagation";
import { cacheNow } from "../middleware/test-clock";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * A prepaid tenant's month limit (billing's `creditLimit`: credit balance + the month's recorded
 * spend), kept in isolate memory for `CREDITS_TTL_MS` per tenant and month, so the hot path asks
 * billing about once per tenant per interval. The limit does not move as usage is recorded (a µ$
 * spent leaves the balance and enters the month's spend), only when credits are granted or expire,
 * which therefore reach every isolate within the bound (the admin route drops its own copy at
 * once). `null`: the tenant has no credits. If billing cannot answer, a stale copy is used; without
 * one the request fails closed (503), like the limiter itself.
 */
export { CREDITS_TTL_MS };
const MAX_ENTRIES = 10_000;
const cache = new Map<string, { limit: number | null; at: number }>();

export async function creditLimitOf(env: Pick<GatewayEnv, "BILLING">, principal: Principal, now = cacheNow()): Promise<number | null> {
  const key = `${principal.tenantId}\n${monthOf(Date.now())}`;
  const hit = cache.get(key);
  if (hit && now - hit.at < CREDITS_TTL_MS) return hit.limit;
  let limit: number | null;
  try {
    const res = await env.BILLING.creditLimit({ type: "key", token: principal.token }, principal.tenantId);
    if (!res.ok) throw new Error(res.error.message);
    limit = res.value.limit_micros;
  } catch (err) {
    log.error("gateway", "credit limit unavailable", { op: "creditLimit", tenantId: principal.tenantId, keyId: principal.keyId, message: errorMessage(err) });
    if (hit) return hit.limit;
    throw new ApiError({ code: "service_unavailable", message: "Prepaid credits cannot be checked right now. Please retry.", headers: { "retry-after": "1" } });
  }
  cache.delete(key);
  if (cache.size >= MAX_ENTRIES) cache.delete(cache.keys().next().value!);
  cache.set(key, { limit, at: now });
  return limit;
}

/** After a grant through this isolate: its next request reads the new limit. */
export function forgetCreditLimit(tenantId: string): void {
  for (const key of cache.keys()) if (key.startsWith(`${tenantId}\n`)) cache.delete(key);
}

/** For tests: forget every cached limit. */
export function resetCreditCache(): void {
  cache.clear();
}
