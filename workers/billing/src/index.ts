import { WorkerEntrypoint } from "cloudflare:workers";
import { privateWorkerFetch, runChecks, type ServiceHealth } from "../../shared/src";

/** billing: prices, usage metering, budgets. Reached only through service bindings and its queue. */
export class BillingService extends WorkerEntrypoint<BillingEnv> {
  async health(): Promise<ServiceHealth> {
    return runChecks("billing", {
      d1: () => this.env.BILLING_DB.prepare("SELECT 1").first(),
    });
  }
}

export default { fetch: privateWorkerFetch } satisfies ExportedHandler<BillingEnv>;
