import {
  fail,
  formatUsd,
  generateApiKey,
  globCovers,
  hashApiKey,
  newId,
  ok,
  parseApiKey,
  validationError,
  usdToMicros,
  type Budget,
  type Limits,
  type Result,
  type Scope,
} from "../../../shared/src";
import {
  DEFAULT_GRACE_PERIOD_SECONDS,
  DEFAULT_KEY_SCOPES,
  KeyCreateSchema,
  KeyRotateSchema,
  KeyUpdateSchema,
  ListQuerySchema,
  type ApiKey,
  type CreatedApiKey,
  type KeyCreate,
  type ListPage,
  type RotatedApiKey,
} from "../../../shared/src/contracts/auth";
import { evictCachedKeys } from "../authenticate/key-cache";
import { compact, keyStatus, mergeAxes, nowSeconds, parseJson, toApiKey, type ApiKeyRow } from "../db/rows";
import { can } from "../../../shared/src/contracts/users";
import { roleIn, type Acting, type Actor } from "./actor";
import { auditStatement } from "./audit";
import { getTenantRow, tenantNotFound } from "./tenants";

/** What a key may do, after defaults: the thing checked against a self-service actor's own bounds. */
interface KeyGrant {
  scopes: Scope[];
  models: string[] | null;
  limits: Limits;
  budget: Budget;
  expires_at: number | null;
}

const keyNotFound = (id: string) => fail({ code: "not_found", message: `No API key with id '${id}'.`, param: "id" });
const GRANT_LEAD = "A key cannot grant more than its creator holds";

const LIMIT_AXES = ["rpm", "tpm", "max_concurrency"] as const;

/**
 * A tenant's own `keys:write` key may only hand out (or change a key to) what it holds itself:
 * scopes ⊆ its scopes, every model glob covered by one of its globs, each limit/budget axis it is
 * bound by set and no higher, and no later expiry. An admin is unbounded.
 */
function withinActorBounds(actor: Actor, grant: KeyGrant, lead = GRANT_LEAD): Result<true> {
  // A console user is bounded by the role checks (`userMayCreate`, `manageableKey`) and the tenant's own limits.
  if (actor.kind === "admin" || actor.kind === "user") return ok(true);
  const beyond = (param: string, message: string) => fail({ code: "permission_denied", message: `${lead}: ${message}`, param });
  const extra = grant.scopes.filter((s) => !actor.scopes.includes(s));
  if (extra.length) return beyond("scopes", `scope '${extra[0]}' is not held by this key.`);
  if (actor.models !== null) {
    if (grant.models === null) return beyond("models", "this key is limited to some models, so the key must be too.");
    const i = grant.models.findIndex((m) => !actor.models!.some((p) => globCovers(p, m)));
    if (i >= 0) return beyond(`models[${i}]`, `model pattern '${grant.models[i]}' is outside this key's models.`);
  }
  for (const axis of LIMIT_AXES) {
    const own = actor.limits[axis];
    const given = grant.limits[axis];
    if (own != null && (given == null || given > own)) return beyond(`limits.${axis}`, `'${axis}' must be at most ${own}.`);
  }
  const ownBudget = actor.budget.monthly_usd;
  const givenBudget = grant.budget.monthly_usd;
  if (ownBudget != null && (givenBudget == null || givenBudget > ownBudget)) {
    return beyond("budget.monthly_usd", `'monthly_usd' must be at most ${formatUsd(usdToMicros(ownBudget))} (this key's own monthly budget).`);
  }
  if (actor.expiresAt !== null && (grant.expires_at === null || grant.expires_at > actor.expiresAt)) {
    return beyond("expires_at", `the key must expire no later than ${actor.expiresAt}.`);
  }
  return ok(true);
}

function checkExpiry(expiresAt: number | null | undefined, nowSec: number): Result<true> {
  if (expiresAt != null && expiresAt <= nowSec) {
    return fail({ code: "invalid_request", message: "Invalid value for 'expires_at': must be a unix time in the future.", param: "expires_at" });
  }
  return ok(true);
}

/** The key, if this actor may see it: another tenant's key is a 404, never a 403. */
async function visibleKey(env: AuthEnv, actor: Actor, keyId: string): Promise<ApiKeyRow | null> {
  if (typeof keyId !== "string" || keyId.length > 64) return null;
  const row = await env.AUTH_DB.prepare("SELECT * FROM api_keys WHERE id = ?1").bind(keyId).first<ApiKeyRow>();
  if (!row) return null;
  if (actor.kind === "key" && row.tenant_id !== actor.tenantId) return null;
  if (actor.kind === "user" && roleIn(actor, row.tenant_id) === null) return null;
  return row;
}

/**
 * A console user's right to create keys in a tenant: a member of it (else 404, as for any tenant
 * one cannot see) whose role creates keys (owner, admin, developer; a viewer gets 403).
 */
function userMayCreate(actor: Actor, tenantId: string): Result<true> {
  if (actor.kind !== "user") return ok(true);
  const role = roleIn(actor, tenantId);
  if (role === null) return tenantNotFound(tenantId);
  if (!can(role, "createKeys")) return fail({ code: "permission_denied", message: `Your role in this tenant (${role}) cannot create or change API keys.` });
  return ok(true);
}

/**
 * The key this actor may change: 404 when it cannot see it (`visibleKey`); 403 when the key holds
 * more than the actor could have granted (`withinActorBounds` on its current grant: scopes, models,
 * limits, budget, expiry). A key manages — updates, rotates, revokes — only keys it could have created.
 */
async function manageableKey(env: AuthEnv, actor: Actor, keyId: string): Promise<Result<ApiKeyRow>> {
  const row = await visibleKey(env, actor, keyId);
  if (!row) return keyNotFound(keyId);
  if (actor.kind === "user") {
    const allowed = userMayCreate(actor, row.tenant_id);
    if (!allowed.ok) return allowed;
    if (!can(roleIn(actor, row.tenant_id), "manageTenantKeys") && row.created_by !== actor.label) {
      return fail({ code: "permission_denied", message: "A developer manages only the keys they created." });
    }
  }
  const bounded = withinActorBounds(actor, grantOf(row), "This key cannot manage a key that holds more than it does");
  return bounded.ok ? ok(row) : bounded;
}

/** What a stored key grants. */
function grantOf(row: ApiKeyRow): KeyGrant {
  return {
    scopes: parseJson<Scope[]>(row.scopes, []),
    models: parseJson<string[] | null>(row.models, null),
    limits: parseJson<Limits>(row.limits, {}),
    budget: parseJson<Budget>(row.budget, {}),
    expires_at: row.expires_at,
  };
}

/**
 * Runs a batch that inserts or raises a self-service key's limits or budget. Migration 0003's
 * triggers refuse it, inside the write (so two concurrent creations cannot both fit), when the
 * keys its creator made would together hold more than the creator on some axis; that abort is
 * answered as a 403 naming the axis. Any other failure is not ours to translate: it propagates.
 */
async function withinFamily(db: D1Database, statements: D1PreparedStatement[]): Promise<Result<true>> {
  try {
    await db.batch(statements);
    return ok(true);
  } catch (err) {
    const param = /family_bound:([a-z_.]+)/.exec(err instanceof Error ? err.message : String(err))?.[1];
    if (!param) throw err;
    const axis = param.slice(param.indexOf(".") + 1);
    return fail({
      code: "permission_denied",
      message: `The keys created by one key may together hold at most its own '${axis}', and this would exceed it. Give this key a smaller '${axis}', or lower or revoke another key created by the same key.`,
      param,
    });
  }
}

/** A new plaintext key with what is stored of it: its SHA-256 hash and its display prefix. */
async function newSecret(keyEnv: string): Promise<{ key: string; hash: string; prefix: string }> {
  const key = generateApiKey(keyEnv);
  const hash = await hashApiKey(key);
  const prefix = (parseApiKey(key) as { ok: true; prefix: string }).prefix;
  return { key, hash, prefix };
}

async function keySecretHashes(db: D1Database, keyId: string): Promise<string[]> {
  const { results } = await db.prepare("SELECT hash FROM api_key_secrets WHERE key_id = ?1").bind(keyId).all<{ hash: string }>();
  return results.map((r) => r.hash);
}

/** A grant as the api_keys row stores it (JSON text columns). */
function grantColumns(grant: KeyGrant): Pick<ApiKeyRow, "scopes" | "models" | "limits" | "budget" | "expires_at"> {
  return {
    scopes: JSON.stringify(grant.scopes),
    models: grant.models === null ? null : JSON.stringify(grant.models),
    limits: JSON.stringify(grant.limits),
    budget: JSON.stringify(grant.budget),
    expires_at: grant.expires_at,
  };
}

const dedupe = <T>(xs: T[]): T[] => [...new Set(xs)];

function defaultsFor(actor: Actor, input: KeyCreate): KeyGrant {
  if (actor.kind === "admin" || actor.kind === "user") {
    return {
      scopes: dedupe(input.scopes ?? DEFAULT_KEY_SCOPES),
      models: input.models ?? null,
      limits: compact(input.limits ?? {}),
      budget: compact(input.budget ?? {}),
      expires_at: input.expires_at ?? null,
    };
  }
  return {
    scopes: dedupe(input.scopes ?? DEFAULT_KEY_SCOPES.filter((s) => actor.scopes.includes(s))),
    models: input.models === undefined ? actor.models : input.models,
    limits: mergeAxes(actor.limits, input.limits),
    budget: mergeAxes(actor.budget, input.budget),
    expires_at: input.expires_at === undefined ? actor.expiresAt : input.expires_at,
  };
}

/** Creates a key; the response is the only place its plaintext ever appears. */
export async function createKey(env: AuthEnv, acting: Acting, tenantId: string, input: unknown): Promise<Result<CreatedApiKey>> {
  const { actor } = acting;
  if (actor.kind === "key" && tenantId !== actor.tenantId) return tenantNotFound(tenantId);
  const allowed = userMayCreate(actor, tenantId);
  if (!allowed.ok) return allowed;
  const parsed = KeyCreateSchema.safeParse(input ?? {});
  if (!parsed.success) return fail(validationError(parsed.error));
  const tenant = await getTenantRow(env.AUTH_DB, tenantId);
  if (!tenant) return tenantNotFound(tenantId);
  if (tenant.status !== "active") return fail({ code: "conflict", message: `Tenant '${tenantId}' is disabled; it cannot get new keys.` });
  const now = nowSeconds();
  const expiry = checkExpiry(parsed.data.expires_at, now);
  if (!expiry.ok) return expiry;
  const grant = defaultsFor(actor, parsed.data);
  const bounded = withinActorBounds(actor, grant);
  if (!bounded.ok) return bounded;

  const { key, hash, prefix } = await newSecret(env.KEY_ENV);
  const row: ApiKeyRow = {
    id: newId("key"),
    tenant_id: tenantId,
    name: parsed.data.name ?? null,
    prefix,
    hash,
    ...grantColumns(grant),
    revoked_at: null,
    last_used_at: null,
    created_by: actor.label,
    created_at: now,
    updated_at: now,
  };
  const inserted = await withinFamily(env.AUTH_DB, [
    env.AUTH_DB.prepare(
      `INSERT INTO api_keys (id, tenant_id, name, prefix, hash, scopes, models, limits, budget, expires_at, created_by, created_at, updated_at)
       VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?12)`,
    ).bind(row.id, row.tenant_id, row.name, row.prefix, row.hash, row.scopes, row.models, row.limits, row.budget, row.expires_at, row.created_by, now),
    env.AUTH_DB.prepare("INSERT INTO api_key_secrets (hash, key_id, prefix, created_at) VALUES (?1, ?2, ?3, ?4)").bind(hash, row.id, prefix, now),
    auditStatement(
      env.AUTH_DB,
      acting,
      {
        action: "key.create",
        tenantId,
        targetType: "api_key",
        targetId: row.id,
        details: { name: row.name, ...grant },
      },
      now,
    ),
  ]);
  if (!inserted.ok) return inserted;
  return ok({ ...toApiKey(row, now), key });
}

/** A tenant's keys, newest first, never with a secret. */
export async function listKeys(env: AuthEnv, acting: Acting, tenantId: string, query: unknown): Promise<Result<ListPage<ApiKey>>> {
  const { actor } = acting;
  const parsed = ListQuerySchema.safeParse(query ?? {});
  if (!parsed.success) return fail(validationError(parsed.error));
  if (actor.kind === "key" && tenantId !== actor.tenantId) return tenantNotFound(tenantId);
  if (actor.kind === "user" && roleIn(actor, tenantId) === null) return tenantNotFound(tenantId);
  if (actor.kind !== "key" && !(await getTenantRow(env.AUTH_DB, tenantId))) {
    return tenantNotFound(tenantId);
  }
  const limit = parsed.data.limit ?? 20;
  const stmt = parsed.data.after
    ? env.AUTH_DB.prepare(
        `SELECT * FROM api_keys WHERE tenant_id = ?1 AND rowid < (SELECT rowid FROM api_keys WHERE id = ?2 AND tenant_id = ?1)
          ORDER BY rowid DESC LIMIT ?3`,
      ).bind(tenantId, parsed.data.after, limit + 1)
    : env.AUTH_DB.prepare("SELECT * FROM api_keys WHERE tenant_id = ?1 ORDER BY rowid DESC LIMIT ?2").bind(tenantId, limit + 1);
  const { results } = await stmt.all<ApiKeyRow>();
  const now = nowSeconds();
  const data = results.slice(0, limit).map((r) => toApiKey(r, now));
  return ok({ object: "list", data, has_more: results.length > limit, first_id: data[0]?.id ?? null, last_id: data.at(-1)?.id ?? null });
}

export async function getKey(env: AuthEnv, acting: Acting, keyId: string): Promise<Result<ApiKey>> {
  const row = await visibleKey(env, acting.actor, keyId);
  return row ? ok(toApiKey(row)) : keyNotFound(keyId);
}

/** PATCH a key: name, scopes, models, expiry, limits and budget (per axis). Effective on next auth. */
export async function updateKey(env: AuthEnv, acting: Acting, keyId: string, input: unknown): Promise<Result<ApiKey>> {
  const { actor } = acting;
  const parsed = KeyUpdateSchema.safeParse(input ?? {});
  if (!parsed.success) return fail(validationError(parsed.error));
  const managed = await manageableKey(env, actor, keyId);
  if (!managed.ok) return managed;
  const row = managed.value;
  const now = nowSeconds();
  if (row.revoked_at !== null) return fail({ code: "conflict", message: `API key '${keyId}' is revoked; it cannot be changed.` });
  const expiry = checkExpiry(parsed.data.expires_at, now);
  if (!expiry.ok) return expiry;
  const p = parsed.data;
  const grant: KeyGrant = {
    scopes: p.scopes ? dedupe(p.scopes) : parseJson<Scope[]>(row.scopes, []),
    models: p.models === undefined ? parseJson<string[] | null>(row.models, null) : p.models,
    limits: mergeAxes(parseJson<Limits>(row.limits, {}), p.limits),
    budget: mergeAxes(parseJson<Budget>(row.budget, {}), p.budget),
    expires_at: p.expires_at === undefined ? row.expires_at : p.expires_at,
  };
  const bounded = withinActorBounds(actor, grant);
  if (!bounded.ok) return bounded;
  const next: ApiKeyRow = {
    ...row,
    name: p.name === undefined ? row.name : p.name,
    ...grantColumns(grant),
    updated_at: now,
  };
  const updated = await withinFamily(env.AUTH_DB, [
    env.AUTH_DB.prepare(
      "UPDATE api_keys SET name = ?2, scopes = ?3, models = ?4, limits = ?5, budget = ?6, expires_at = ?7, updated_at = ?8 WHERE id = ?1",
    ).bind(keyId, next.name, next.scopes, next.models, next.limits, next.budget, next.expires_at, now),
    auditStatement(env.AUTH_DB, acting, { action: "key.update", tenantId: row.tenant_id, targetType: "api_key", targetId: keyId, details: p }, now),
  ]);
  if (!updated.ok) return updated;
  await evictCachedKeys(env.AUTH_CACHE, await keySecretHashes(env.AUTH_DB, keyId));
  return ok(toApiKey(next, now));
}

/**
 * Revokes a key (and any previous secret still in a rotation grace period). The KV entries are
 * deleted before this returns, so the next authentication in this location reads D1 and refuses
 * it; the gateway drops its own in-isolate entry too. Idempotent.
 */
export async function revokeKey(env: AuthEnv, acting: Acting, keyId: string): Promise<Result<ApiKey>> {
  const { actor } = acting;
  const managed = await manageableKey(env, actor, keyId);
  if (!managed.ok) return managed;
  const row = managed.value;
  if (row.revoked_at !== null) return ok(toApiKey(row));
  const now = nowSeconds();
  await env.AUTH_DB.batch([
    env.AUTH_DB.prepare("UPDATE api_keys SET revoked_at = ?2, updated_at = ?2 WHERE id = ?1").bind(keyId, now),
    auditStatement(env.AUTH_DB, acting, { action: "key.revoke", tenantId: row.tenant_id, targetType: "api_key", targetId: keyId }, now),
  ]);
  await evictCachedKeys(env.AUTH_CACHE, await keySecretHashes(env.AUTH_DB, keyId));
  return ok(toApiKey({ ...row, revoked_at: now, updated_at: now }, now));
}

/**
 * Rotation: a new secret for the same key (same id, scopes, limits, usage history); the previous
 * secret keeps working for `grace_period_seconds` (default one hour, 0 = stops at once). Secrets
 * from earlier rotations keep their own, earlier, end.
 */
export async function rotateKey(env: AuthEnv, acting: Acting, keyId: string, input: unknown): Promise<Result<RotatedApiKey>> {
  const { actor } = acting;
  const parsed = KeyRotateSchema.safeParse(input ?? {});
  if (!parsed.success) return fail(validationError(parsed.error));
  const managed = await manageableKey(env, actor, keyId);
  if (!managed.ok) return managed;
  const row = managed.value;
  const now = nowSeconds();
  const status = keyStatus(row, now);
  if (status !== "active") return fail({ code: "conflict", message: `API key '${keyId}' is ${status}; it cannot be rotated.` });
  const grace = parsed.data.grace_period_seconds ?? DEFAULT_GRACE_PERIOD_SECONDS;
  const graceEnd = now + grace;
  const oldHashes = await keySecretHashes(env.AUTH_DB, keyId);

  const { key, hash, prefix } = await newSecret(env.KEY_ENV);
  await env.AUTH_DB.batch([
    // Drop secrets whose grace is over; end the rest (the current one included) at the latest at graceEnd.
    env.AUTH_DB.prepare("DELETE FROM api_key_secrets WHERE key_id = ?1 AND (expires_at <= ?2 OR ?3 = 0)").bind(keyId, now, grace),
    env.AUTH_DB.prepare("UPDATE api_key_secrets SET expires_at = MIN(COALESCE(expires_at, ?2), ?2) WHERE key_id = ?1").bind(keyId, graceEnd),
    env.AUTH_DB.prepare("INSERT INTO api_key_secrets (hash, key_id, prefix, created_at) VALUES (?1, ?2, ?3, ?4)").bind(hash, keyId, prefix, now),
    env.AUTH_DB.prepare("UPDATE api_keys SET hash = ?2, prefix = ?3, updated_at = ?4 WHERE id = ?1").bind(keyId, hash, prefix, now),
    auditStatement(
      env.AUTH_DB,
      acting,
      {
        action: "key.rotate",
        tenantId: row.tenant_id,
        targetType: "api_key",
        targetId: keyId,
        details: { grace_period_seconds: grace, previous_key_expires_at: graceEnd },
      },
      now,
    ),
  ]);
  // The previous secret's cached entry carries no expiry: drop it so the grace end applies.
  await evictCachedKeys(env.AUTH_CACHE, oldHashes);
  const next = { ...row, hash, prefix, updated_at: now };
  return ok({ ...toApiKey(next, now), key, previous_key_expires_at: graceEnd });
}
