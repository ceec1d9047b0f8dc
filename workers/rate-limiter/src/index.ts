import { WorkerEntrypoint } from "cloudflare:workers";
import { privateWorkerFetch, runChecks, type ServiceHealth } from "../../shared/src";
import { RateLimiter } from "../../../durable-objects/rate-limiter";

export { RateLimiter };

/** rate-limiter: hosts the RateLimiter Durable Object. The gateway binds the object directly. */
export class RateLimiterService extends WorkerEntrypoint<RateLimiterEnv> {
  async health(): Promise<ServiceHealth> {
    return runChecks("rate-limiter", {
      durable_object: () => this.env.RATE_LIMITER.get(this.env.RATE_LIMITER.idFromName("health:probe")).ping(),
    });
  }
}

export default { fetch: privateWorkerFetch } satisfies ExportedHandler<RateLimiterEnv>;
