import { fail, ok, type Result } from "../../../shared/src";
import { verifyPrincipalToken } from "../../../shared/src/principal-token";
import { coordinatorOf } from "./api";
import { TERMINAL, type BatchObject } from "./model";

/** The most unfinished batches one answer lists (newest first). */
export const MAX_IN_FLIGHT = 50;

/**
 * The console's "batches in flight": a tenant's unfinished batches with their live counts (each
 * read from its coordinator, the authority while it runs). Read-only, so a reader's token with
 * `usage:read` suffices (the console's signed reader; also any key with `usage:read` or `batch`).
 */
export async function batchesInFlight(env: TailEnv, token: unknown): Promise<Result<{ object: "list"; data: BatchObject[] }>> {
  if (typeof token !== "string") return fail({ code: "invalid_api_key", message: "The caller is not identified by a signed token." });
  const claims = await verifyPrincipalToken(token, env.PRINCIPAL_VERIFY_JWK);
  if (!claims.ok) return claims;
  if (!claims.value.scopes.includes("usage:read") && !claims.value.scopes.includes("batch")) {
    return fail({ code: "permission_denied", message: "This API key does not have the 'usage:read' scope required to read batches in flight." });
  }
  const placeholders = TERMINAL.map((_, i) => `?${i + 2}`).join(", ");
  const { results } = await env.TAIL_DB.prepare(
    `SELECT id, object FROM batches WHERE tenant_id = ?1 AND status NOT IN (${placeholders}) ORDER BY created_at DESC, id DESC LIMIT ${MAX_IN_FLIGHT}`,
  )
    .bind(claims.value.tenantId, ...TERMINAL)
    .all<{ id: string; object: string }>();
  const data = await Promise.all(results.map(async (row) => (await coordinatorOf(env, row.id).get()) ?? (JSON.parse(row.object) as BatchObject)));
  return ok({ object: "list", data: data.filter((b) => !TERMINAL.includes(b.status)) });
}
