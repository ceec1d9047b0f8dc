import { fail, newId, ok, validationError, type Budget, type Limits, type Result } from "../../../shared/src";
import { ListQuerySchema, TenantCreateSchema, TenantUpdateSchema, type ListPage, type Tenant } from "../../../shared/src/contracts/auth";
import { publishTenantGeneration } from "../authenticate/key-cache";
import { compact, mergeAxes, nowSeconds, parseJson, toTenant, type TenantRow } from "../db/rows";
import { requireAdmin, type Acting } from "./actor";
import { auditStatement } from "./audit";

export const tenantNotFound = (id: string) => fail({ code: "not_found", message: `No tenant with id '${id}'.`, param: "id" });

export async function getTenantRow(db: D1Database, id: string): Promise<TenantRow | null> {
  if (typeof id !== "string" || id.length > 64) return null;
  return db.prepare("SELECT * FROM tenants WHERE id = ?1").bind(id).first<TenantRow>();
}

/** The generation a tenant change's UPDATE … RETURNING generation reported (first statement of its batch). */
function returnedGeneration(results: D1Result[]): number {
  const row = results[0]?.results[0] as { generation?: unknown } | undefined;
  if (typeof row?.generation !== "number") throw new Error("tenant update returned no generation");
  return row.generation;
}

export async function createTenant(env: AuthEnv, acting: Acting, input: unknown): Promise<Result<Tenant>> {
  const admin = requireAdmin(acting.actor);
  if (!admin.ok) return admin;
  const parsed = TenantCreateSchema.safeParse(input);
  if (!parsed.success) return fail(validationError(parsed.error));
  const now = nowSeconds();
  const row: TenantRow = {
    id: newId("ten"),
    name: parsed.data.name,
    status: "active",
    limits: JSON.stringify(compact(parsed.data.limits ?? {})),
    budget: JSON.stringify(compact(parsed.data.budget ?? {})),
    cors_origins: JSON.stringify(parsed.data.cors_origins ?? []),
    created_at: now,
    updated_at: now,
    disabled_at: null,
    generation: 1,
  };
  await env.AUTH_DB.batch([
    env.AUTH_DB.prepare(
      "INSERT INTO tenants (id, name, status, limits, budget, cors_origins, created_at, updated_at) VALUES (?1, ?2, 'active', ?3, ?4, ?5, ?6, ?6)",
    ).bind(row.id, row.name, row.limits, row.budget, row.cors_origins, now),
    auditStatement(
      env.AUTH_DB,
      acting,
      {
        action: "tenant.create",
        tenantId: row.id,
        targetType: "tenant",
        targetId: row.id,
        details: { name: row.name, limits: JSON.parse(row.limits), budget: JSON.parse(row.budget), cors_origins: JSON.parse(row.cors_origins) },
      },
      now,
    ),
  ]);
  // Not needed for correctness (a lookup that finds no generation in KV asks D1 and repairs it);
  // it spares the tenant's first key lookups that detour through D1.
  await publishTenantGeneration(env.AUTH_CACHE, row.id, row.generation);
  return ok(toTenant(row));
}

/** Newest first. */
export async function listTenants(env: AuthEnv, acting: Acting, query: unknown): Promise<Result<ListPage<Tenant>>> {
  const admin = requireAdmin(acting.actor);
  if (!admin.ok) return admin;
  const parsed = ListQuerySchema.safeParse(query ?? {});
  if (!parsed.success) return fail(validationError(parsed.error));
  const limit = parsed.data.limit ?? 20;
  const stmt = parsed.data.after
    ? env.AUTH_DB.prepare("SELECT * FROM tenants WHERE rowid < (SELECT rowid FROM tenants WHERE id = ?1) ORDER BY rowid DESC LIMIT ?2").bind(
        parsed.data.after,
        limit + 1,
      )
    : env.AUTH_DB.prepare("SELECT * FROM tenants ORDER BY rowid DESC LIMIT ?1").bind(limit + 1);
  const { results } = await stmt.all<TenantRow>();
  const data = results.slice(0, limit).map(toTenant);
  return ok({ object: "list", data, has_more: results.length > limit, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
}

export async function getTenant(env: AuthEnv, acting: Acting, id: string): Promise<Result<Tenant>> {
  const admin = requireAdmin(acting.actor);
  if (!admin.ok) return admin;
  const row = await getTenantRow(env.AUTH_DB, id);
  return row ? ok(toTenant(row)) : tenantNotFound(id);
}

/**
 * Renames a tenant or sets its tenant-wide limits/budget (per axis; `null` clears one). New limits
 * or budget reach the hot path on each key's next authentication: the tenant's generation is
 * bumped in the same batch and published to KV with one write, which turns every cached key record
 * of the tenant into a miss (see authenticate/key-cache.ts and the gateway's api-key.ts). A rename
 * alone changes nothing that keys carry, so it leaves the generation (and the caches) alone.
 */
export async function updateTenant(env: AuthEnv, acting: Acting, id: string, input: unknown): Promise<Result<Tenant>> {
  const admin = requireAdmin(acting.actor);
  if (!admin.ok) return admin;
  const parsed = TenantUpdateSchema.safeParse(input ?? {});
  if (!parsed.success) return fail(validationError(parsed.error));
  const row = await getTenantRow(env.AUTH_DB, id);
  if (!row) return tenantNotFound(id);
  const now = nowSeconds();
  const next: TenantRow = {
    ...row,
    name: parsed.data.name ?? row.name,
    limits: JSON.stringify(mergeAxes(parseJson<Limits>(row.limits, {}), parsed.data.limits)),
    budget: JSON.stringify(mergeAxes(parseJson<Budget>(row.budget, {}), parsed.data.budget)),
    cors_origins: parsed.data.cors_origins ? JSON.stringify(parsed.data.cors_origins) : row.cors_origins,
    updated_at: now,
  };
  // Every key's principal carries the tenant's limits, budget and CORS origins.
  const keysSeeIt = next.limits !== row.limits || next.budget !== row.budget || next.cors_origins !== row.cors_origins;
  const results = await env.AUTH_DB.batch([
    env.AUTH_DB.prepare(
      "UPDATE tenants SET name = ?2, limits = ?3, budget = ?4, cors_origins = ?5, updated_at = ?6, generation = generation + ?7 WHERE id = ?1 RETURNING generation",
    ).bind(id, next.name, next.limits, next.budget, next.cors_origins, now, keysSeeIt ? 1 : 0),
    auditStatement(env.AUTH_DB, acting, { action: "tenant.update", tenantId: id, targetType: "tenant", targetId: id, details: parsed.data }, now),
  ]);
  next.generation = returnedGeneration(results);
  if (keysSeeIt) await publishTenantGeneration(env.AUTH_CACHE, id, next.generation);
  return ok(toTenant(next));
}

/**
 * DELETE: disables the tenant and revokes every one of its keys (rows are kept for billing and
 * audit). Idempotent: disabling a disabled tenant changes nothing and writes no second audit row.
 * Every key is refused at its next authentication: the tenant's generation is bumped with the
 * change and published with one KV write, whatever the number of keys (authenticate/key-cache.ts).
 */
export async function disableTenant(env: AuthEnv, acting: Acting, id: string): Promise<Result<Tenant>> {
  const admin = requireAdmin(acting.actor);
  if (!admin.ok) return admin;
  const row = await getTenantRow(env.AUTH_DB, id);
  if (!row) return tenantNotFound(id);
  if (row.status === "disabled") return ok(toTenant(row));
  const now = nowSeconds();
  const active = await env.AUTH_DB.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE tenant_id = ?1 AND revoked_at IS NULL").bind(id).first<{ n: number }>();
  const results = await env.AUTH_DB.batch([
    env.AUTH_DB.prepare(
      "UPDATE tenants SET status = 'disabled', disabled_at = ?2, updated_at = ?2, generation = generation + 1 WHERE id = ?1 RETURNING generation",
    ).bind(id, now),
    env.AUTH_DB.prepare("UPDATE api_keys SET revoked_at = ?2, updated_at = ?2 WHERE tenant_id = ?1 AND revoked_at IS NULL").bind(id, now),
    auditStatement(
      env.AUTH_DB,
      acting,
      {
        action: "tenant.disable",
        tenantId: id,
        targetType: "tenant",
        targetId: id,
        details: { keys_revoked: active?.n ?? 0 },
      },
      now,
    ),
  ]);
  const generation = returnedGeneration(results);
  await publishTenantGeneration(env.AUTH_CACHE, id, generation);
  return ok(toTenant({ ...row, status: "disabled", disabled_at: now, updated_at: now, generation }));
}
