import { z } from "@hono/zod-openapi";
import { checkEverything } from "./checks";

/** How long the public answer is reused: an unauthenticated flood costs one full check per window. */
export const PUBLIC_HEALTH_TTL_MS = 15_000;

export const HealthSummarySchema = z
  .object({
    status: z.enum(["ok", "unhealthy"]),
    checked_at: z.number().int().openapi({ description: "Unix ms of the check this answer reports (reused for up to 15 s)" }),
  })
  .openapi("HealthSummary");
export type HealthSummary = z.infer<typeof HealthSummarySchema>;

/**
 * The public health answer, in isolate memory: anyone may ask `/health` (load balancers, uptime
 * monitors, attackers), so a public request never reaches a store itself. Concurrent requests
 * share the check in flight; the result is reused for PUBLIC_HEALTH_TTL_MS after it finished.
 * Only the status is public — which store failed, and its error text, is the admin's.
 */
class SummaryCache {
  #current: { summary: Promise<HealthSummary>; until: number } | null = null;

  get(env: GatewayEnv, now: number): Promise<HealthSummary> {
    const cached = this.#current;
    if (cached && now < cached.until) return cached.summary;
    const entry = { summary: this.#check(env), until: Number.POSITIVE_INFINITY };
    this.#current = entry;
    // Fresh for the TTL from when the check finished (a slow check is not re-run by every waiter).
    void entry.summary.then(() => {
      entry.until = Date.now() + PUBLIC_HEALTH_TTL_MS;
    });
    return entry.summary;
  }

  async #check(env: GatewayEnv): Promise<HealthSummary> {
    const report = await checkEverything(env);
    return { status: report.status, checked_at: Date.now() };
  }
}

const cache = new SummaryCache();

export function publicHealth(env: GatewayEnv, now: number = Date.now()): Promise<HealthSummary> {
  return cache.get(env, now);
}
