import { WorkerEntrypoint } from "cloudflare:workers";
import { fail, ok, privateWorkerFetch, runChecks, validationError, type Result, type ServiceHealth } from "../../shared/src";
import type { Price } from "../../shared/src/pricing";
import { PriceStore } from "./prices/store";
import { consumeUsageBatch } from "./usage/consumer";
import { UsageQuerySchema, usageSummary, type UsageSummary } from "./usage/query";

/** billing: prices, usage metering, budgets. Reached only through service bindings and its queue. */
export class BillingService extends WorkerEntrypoint<BillingEnv> {
  async health(): Promise<ServiceHealth> {
    return runChecks("billing", {
      d1: () => this.env.BILLING_DB.prepare("SELECT 1").first(),
    });
  }

  /** The whole price table (small: one row per model); the gateway caches it in isolate memory. */
  async prices(): Promise<Result<Price[]>> {
    return ok(await new PriceStore(this.env.BILLING_DB).list());
  }

  /** Month-to-date usage and spend of a tenant or one of its keys, from the monthly rollups. */
  async usage(query: unknown): Promise<Result<UsageSummary>> {
    const parsed = UsageQuerySchema.safeParse(query);
    if (!parsed.success) return fail(validationError(parsed.error));
    return ok(await usageSummary(this.env.BILLING_DB, parsed.data));
  }
}

export default {
  fetch: privateWorkerFetch,
  queue: (batch, env) => consumeUsageBatch(batch, env),
} satisfies ExportedHandler<BillingEnv>;
