import { ApiError, monthOf, type Budget } from "../../../shared/src";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * A budget was removed (PATCH … `budget.monthly_usd: null`). From then on the subject's requests
 * are not priced, or skip the limiter altogether (no limit left), so the month spend its objects
 * hold goes stale without them seeing it. They give it up now, so a budget given again this month
 * adopts the spend afresh (from billing) instead of trusting a sum that misses those requests.
 * A key's counters may be in its own object or its tenant's; a tenant's are in its own.
 *
 * Runs after the change was stored; if the limiter cannot be told, the operator gets a 503 and
 * repeats the (idempotent) request.
 */
export async function releaseRemovedBudget(
  env: Pick<GatewayEnv, "RATE_LIMITER">,
  budget: Budget | undefined,
  subject: { keyId: string; tenantId: string } | { tenantId: string },
): Promise<void> {
  if (budget?.monthly_usd !== null) return;
  const id = "keyId" in subject ? `key:${subject.keyId}` : `tenant:${subject.tenantId}`;
  const objects = "keyId" in subject ? [id, `tenant:${subject.tenantId}`] : [id];
  const month = monthOf(Date.now());
  try {
    await Promise.all(
      objects.map(async (object) => {
        const res = await env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(object)).release({ subject: id, month });
        if (!res.ok) throw new Error(res.message);
      }),
    );
  } catch (err) {
    log.error("gateway", "rate limiter could not release a removed budget", { op: "release", detail: id, message: errorMessage(err) });
    throw new ApiError({
      code: "service_unavailable",
      message: "The budget was removed, but the rate limiter could not be updated. Repeat the request.",
      headers: { "retry-after": "1" },
    });
  }
}
