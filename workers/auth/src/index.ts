import { WorkerEntrypoint } from "cloudflare:workers";
import { privateWorkerFetch, runChecks, type ServiceHealth } from "../../shared/src";

/** auth: tenants, API keys and principal tokens. Reached only through service bindings. */
export class AuthService extends WorkerEntrypoint<AuthEnv> {
  async health(): Promise<ServiceHealth> {
    return runChecks("auth", {
      d1: () => this.env.AUTH_DB.prepare("SELECT 1").first(),
      kv: () => this.env.AUTH_CACHE.get("health:probe"),
    });
  }
}

export default { fetch: privateWorkerFetch } satisfies ExportedHandler<AuthEnv>;
