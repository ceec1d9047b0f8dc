import { WorkerEntrypoint } from "cloudflare:workers";
import { privateWorkerFetch, runChecks, type ServiceHealth } from "../../shared/src";
import { BatchCoordinator } from "../../../durable-objects/batch-coordinator";

export { BatchCoordinator };

/** tail: the main service (chat, completions, embeddings, batch, agentic). Bindings only. */
export class TailService extends WorkerEntrypoint<TailEnv> {
  async health(): Promise<ServiceHealth> {
    return runChecks("tail", {
      d1: () => this.env.TAIL_DB.prepare("SELECT 1").first(),
      r2: () => this.env.FILES.head("health:probe"),
      durable_object: () =>
        this.env.BATCH_COORDINATOR.get(this.env.BATCH_COORDINATOR.idFromName("health:probe")).ping(),
      queue_batch_requests: async () => {
        if (typeof this.env.BATCH_REQUESTS?.send !== "function") throw new Error("BATCH_REQUESTS binding missing");
      },
      queue_usage_events: async () => {
        if (typeof this.env.USAGE_EVENTS?.send !== "function") throw new Error("USAGE_EVENTS binding missing");
      },
    });
  }
}

export default { fetch: privateWorkerFetch } satisfies ExportedHandler<TailEnv>;
