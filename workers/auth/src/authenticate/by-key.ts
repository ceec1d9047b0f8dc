import { fail, ok, type Principal, type Result } from "../../../shared/src";
import { toPrincipal } from "./authenticate";
import { keyRecordOf, type KeyRecordColumns } from "./key-cache";

interface KeyRow extends KeyRecordColumns {
  expires_at: number | null;
  revoked_at: number | null;
  tenant_status: string;
}

/**
 * The principal of a key by its id, for work the key started earlier and the gateway runs later
 * (a batch's lines): read from D1 now, so a key revoked, expired, re-scoped or re-limited since
 * (or a disabled tenant) applies to every line that has not run yet. Only the gateway's
 * `BatchLineService` asks, with a key id it read from its own records, never a client's value.
 */
export async function principalOfKey(env: AuthEnv, keyId: unknown, now = Date.now()): Promise<Result<Principal>> {
  if (typeof keyId !== "string" || keyId.length === 0 || keyId.length > 128) return fail({ code: "invalid_request", message: "A key id is required." });
  const row = await env.AUTH_DB.prepare(
    `SELECT k.id AS key_id, k.tenant_id, k.scopes, k.models, k.limits, k.budget, k.expires_at, k.revoked_at,
            t.status AS tenant_status, t.limits AS tenant_limits, t.budget AS tenant_budget, t.cors_origins AS tenant_cors_origins,
            t.generation AS tenant_generation
       FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.id = ?1`,
  )
    .bind(keyId)
    .first<KeyRow>();
  if (!row) return fail({ code: "invalid_api_key", message: "The API key that created this work no longer exists." });
  if (row.revoked_at !== null) return fail({ code: "invalid_api_key", message: "The API key that created this work has been revoked." });
  if (row.tenant_status !== "active") return fail({ code: "invalid_api_key", message: "This API key's tenant is disabled." });
  const expiresAt = row.expires_at === null ? null : row.expires_at * 1000;
  if (expiresAt !== null && expiresAt <= now) return fail({ code: "invalid_api_key", message: "The API key that created this work has expired." });
  return ok(await toPrincipal(env, `key:${row.key_id}`, keyRecordOf(row, expiresAt), now));
}
