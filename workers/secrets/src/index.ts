import { WorkerEntrypoint } from "cloudflare:workers";
import { privateWorkerFetch, runChecks, type ServiceHealth } from "../../shared/src";

/** secrets: provider credentials, encrypted at rest. Only model-proxy is bound to it. */
export class SecretsService extends WorkerEntrypoint<SecretsEnv> {
  async health(): Promise<ServiceHealth> {
    return runChecks("secrets", {
      kv: () => this.env.SECRETS.get("health:probe"),
      master_key: async () => {
        if (!this.env.MASTER_KEYS) throw new Error("MASTER_KEYS is not set");
      },
    });
  }
}

export default { fetch: privateWorkerFetch } satisfies ExportedHandler<SecretsEnv>;
