import { WorkerEntrypoint } from "cloudflare:workers";
import { privateWorkerFetch, runChecks, type ServiceHealth } from "../../shared/src";
import { REFUSAL_REASONS, type RefusalCounts } from "../../shared/src/contracts/metrics";
import { RateLimiter } from "../../../durable-objects/rate-limiter";
import { REFUSAL_COUNTER_SHARDS, RefusalCounter } from "../../../durable-objects/refusal-counter";

export { RateLimiter, RefusalCounter };

/** The shard a refused request is counted in: a stable hash of its (gateway-generated) request id. */
function shardOf(requestId: string): number {
  let h = 0;
  for (let i = 0; i < requestId.length; i++) h = (h * 31 + requestId.charCodeAt(i)) >>> 0;
  return h % REFUSAL_COUNTER_SHARDS;
}

/** rate-limiter: hosts the RateLimiter Durable Object. The gateway binds the object directly. */
export class RateLimiterService extends WorkerEntrypoint<RateLimiterEnv> {
  async health(): Promise<ServiceHealth> {
    return runChecks("rate-limiter", {
      durable_object: () => this.env.RATE_LIMITER.get(this.env.RATE_LIMITER.idFromName("health:probe")).ping(),
    });
  }

  /** Counts one refused request (the gateway calls it once per 429 a limit caused). */
  async countRefusal(reason: unknown, requestId: unknown): Promise<void> {
    const known = REFUSAL_REASONS.find((r) => r === reason);
    if (!known || typeof requestId !== "string" || requestId.length > 256) return;
    const ns = this.env.REFUSAL_COUNTER;
    await ns.get(ns.idFromName(`refusals:${shardOf(requestId)}`)).count(known);
  }

  /** Refusals by reason, summed over the shards: aggregate counts only (no tenant, no key). */
  async refusals(): Promise<RefusalCounts> {
    const ns = this.env.REFUSAL_COUNTER;
    const shards = await Promise.all(Array.from({ length: REFUSAL_COUNTER_SHARDS }, (_, i) => ns.get(ns.idFromName(`refusals:${i}`)).counts()));
    const out = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as RefusalCounts;
    for (const shard of shards) for (const r of REFUSAL_REASONS) out[r] += shard[r];
    return out;
  }
}

export default { fetch: privateWorkerFetch } satisfies ExportedHandler<RateLimiterEnv>;
