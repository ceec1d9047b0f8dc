import { fail, ok, validationError, type Result } from "../../../shared/src";
import { HttpFetchAllowlistUpdateSchema, type HttpFetchAllowlist } from "../../../shared/src/contracts/http-fetch";
import { asTokenCaller } from "../webhooks/api";

/**
 * A tenant's allow-list for the built-in `http_fetch` tool (D1 `tail`, migrations/tail/0003): read
 * by every fetch a run makes, set with `PUT /v1/agentic/http_fetch/allowlist`. No row: an empty
 * list, so nothing may be fetched until the tenant chooses its domains.
 */
export class HttpFetchAllowlists {
  readonly #db: D1Database;
  readonly #now: () => number;

  constructor(db: D1Database, now: () => number = Date.now) {
    this.#db = db;
    this.#now = now;
  }

  async get(tenantId: string): Promise<HttpFetchAllowlist> {
    const row = await this.#db
      .prepare("SELECT domains, updated_at FROM http_fetch_allowlists WHERE tenant_id = ?1")
      .bind(tenantId)
      .first<{ domains: string; updated_at: number }>();
    if (!row) return { object: "http_fetch.allowlist", domains: [], updated_at: null };
    const domains: unknown = JSON.parse(row.domains);
    return {
      object: "http_fetch.allowlist",
      domains: Array.isArray(domains) ? domains.filter((d): d is string => typeof d === "string") : [],
      updated_at: row.updated_at,
    };
  }

  async set(tenantId: string, keyId: string, input: unknown): Promise<Result<HttpFetchAllowlist>> {
    const parsed = HttpFetchAllowlistUpdateSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const domains = [...new Set(parsed.data.domains)];
    const at = Math.floor(this.#now() / 1000);
    await this.#db
      .prepare(
        `INSERT INTO http_fetch_allowlists (tenant_id, domains, updated_by, updated_at) VALUES (?1, ?2, ?3, ?4)
         ON CONFLICT (tenant_id) DO UPDATE SET domains = excluded.domains, updated_by = excluded.updated_by, updated_at = excluded.updated_at`,
      )
      .bind(tenantId, JSON.stringify(domains), `key:${keyId}`, at)
      .run();
    return ok({ object: "http_fetch.allowlist", domains, updated_at: at });
  }
}

/**
 * `GET|PUT /v1/agentic/http_fetch/allowlist` as tail serves them to the gateway: the key's principal
 * token verified here, acting on its tenant only. Reading needs `chat` (the scope that runs
 * responses) or `providers:read`; setting needs `providers:write` — like a provider's base URL, the
 * list decides where the gateway sends requests for the tenant, so it is opted into.
 */
export class HttpFetchAllowlistApi {
  readonly #env: Pick<TailEnv, "PRINCIPAL_VERIFY_JWK" | "TAIL_DB">;

  constructor(env: Pick<TailEnv, "PRINCIPAL_VERIFY_JWK" | "TAIL_DB">) {
    this.#env = env;
  }

  async get(token: string): Promise<Result<HttpFetchAllowlist>> {
    return asTokenCaller(this.#env, token, ["chat", "providers:read", "providers:write"], async (c) =>
      ok(await new HttpFetchAllowlists(this.#env.TAIL_DB).get(c.tenantId)),
    );
  }

  async set(token: string, input: unknown): Promise<Result<HttpFetchAllowlist>> {
    return asTokenCaller(this.#env, token, ["providers:write"], (c) => new HttpFetchAllowlists(this.#env.TAIL_DB).set(c.tenantId, c.keyId, input));
  }
}
