import { WorkerEntrypoint } from "cloudflare:workers";
import { privateWorkerFetch, runChecks, type ServiceHealth } from "../../shared/src";

/** model-proxy: provider adapters, routing and fallbacks. Reached only through service bindings. */
export class ModelProxyService extends WorkerEntrypoint<ModelProxyEnv> {
  async health(): Promise<ServiceHealth> {
    const [own, secrets] = await Promise.all([
      runChecks("model-proxy", { d1: () => this.env.PROXY_DB.prepare("SELECT 1").first() }),
      this.env.SECRETS.health().catch(
        (err: unknown): ServiceHealth => ({
          service: "secrets",
          ok: false,
          checks: { binding: { ok: false, ms: 0, error: err instanceof Error ? err.message : String(err) } },
        }),
      ),
    ]);
    return { ...own, ok: own.ok && secrets.ok, dependencies: { secrets } };
  }
}

export default { fetch: privateWorkerFetch } satisfies ExportedHandler<ModelProxyEnv>;
