import { fail, hashApiKey, ok, parseApiKey, timingSafeEqualStrings, type ApiErrorInit, type Principal, type Result } from "../../../shared/src";
import { signPrincipalToken } from "../../../shared/src/principal-token";
import {
  memoToken,
  readCachedKey,
  rememberTenantOfKey,
  repairTenantGeneration,
  tokenMemo,
  TOKEN_REUSE_MIN_MS,
  writeCachedKey,
  keyRecordOf,
  type KeyRecord,
} from "./key-cache";
import { lastUsedWrite } from "./last-used";
import { lookupSecret, rememberedRefusal, rememberRefusal } from "./secret-lookup";

export interface AuthDeps {
  env: AuthEnv;
  waitUntil(p: Promise<unknown>): void;
  now?: () => number;
}

const MAX_KEY_LENGTH = 256;

const invalidKey = (message: string): ApiErrorInit => ({ code: "invalid_api_key", message });
const INCORRECT = "Incorrect API key provided. Check the key, or create a new one.";

/** The earlier of two optional epoch-second expiries, in epoch ms. */
function earliestMs(a: number | null, b: number | null): number | null {
  const xs = [a, b].filter((x): x is number => x !== null);
  return xs.length ? Math.min(...xs) * 1000 : null;
}

/**
 * Who holds this API key: format and checksum (no I/O) → KV `AUTH_CACHE` (the key's record, served
 * only if as new as its tenant's generation: see key-cache.ts) → this isolate's remembered final
 * refusals → D1 (concurrent misses share a query: see secret-lookup.ts), then a freshly signed (or
 * still-fresh memoised) principal token. Never throws; never logs or returns the key.
 */
export async function authenticate(deps: AuthDeps, apiKey: unknown): Promise<Result<Principal>> {
  const { env } = deps;
  const now = deps.now?.() ?? Date.now();
  if (typeof apiKey !== "string" || apiKey.length === 0) return fail({ code: "missing_api_key", message: "No API key provided." });
  if (apiKey.length > MAX_KEY_LENGTH) return fail(invalidKey(INCORRECT));
  const parsed = parseApiKey(apiKey);
  if (!parsed.ok) {
    return fail(invalidKey(parsed.reason === "checksum" ? "Incorrect API key provided: the key's checksum does not match (a typo?)." : INCORRECT));
  }
  if (parsed.env !== env.KEY_ENV) {
    return fail(invalidKey(`This API key belongs to the '${parsed.env}' environment, not '${env.KEY_ENV}'.`));
  }

  const hash = await hashApiKey(apiKey);
  const cached = await readCachedKey(env.AUTH_CACHE, hash);
  let record = cached.record;
  if (!record) {
    const refused = rememberedRefusal(hash, now);
    if (refused !== null) return fail(invalidKey(refused));
    const loaded = await loadFromD1(env.AUTH_DB, hash, now);
    if (!loaded.ok) return loaded;
    record = loaded.value;
    const toCache = record;
    rememberTenantOfKey(hash, toCache.tenantId);
    deps.waitUntil(writeCachedKey(env.AUTH_CACHE, hash, toCache, now).catch(() => undefined));
    if (cached.tenantGeneration === null) {
      deps.waitUntil(repairTenantGeneration(env.AUTH_CACHE, toCache.tenantId, toCache.gen).catch(() => undefined));
    }
  }
  if (record.expiresAt !== null && record.expiresAt <= now) return fail(invalidKey("This API key has expired."));

  const principal = await toPrincipal(env, hash, record, now);
  const write = lastUsedWrite(env.AUTH_DB, record.keyId, now);
  if (write) deps.waitUntil(write.run().catch(() => undefined));
  return ok(principal);
}

/** A refusal that D1 can never reverse (see secret-lookup.ts): remembered, so a repeat costs no query. */
function refusedForGood(hash: string, message: string, now: number): Result<never> {
  rememberRefusal(hash, message, now);
  return fail(invalidKey(message));
}

async function loadFromD1(db: D1Database, hash: string, now: number): Promise<Result<KeyRecord>> {
  const row = await lookupSecret(db, hash);
  // The index lookup found the row by hash; compare again in constant time as defence in depth.
  if (!row || !(await timingSafeEqualStrings(row.secret_hash, hash))) return refusedForGood(hash, INCORRECT, now);
  if (row.revoked_at !== null) return refusedForGood(hash, "This API key has been revoked.", now);
  if (row.secret_expires_at !== null && row.secret_expires_at * 1000 <= now) return refusedForGood(hash, "This API key has expired.", now);
  if (row.tenant_status !== "active") return fail(invalidKey("This API key's tenant is disabled."));
  const expiresAt = earliestMs(row.expires_at, row.secret_expires_at);
  if (expiresAt !== null && expiresAt <= now) return fail(invalidKey("This API key has expired."));
  return ok(keyRecordOf(row, expiresAt));
}

export async function toPrincipal(env: AuthEnv, hash: string, record: KeyRecord, now: number): Promise<Principal> {
  const recordJson = JSON.stringify(record);
  const memo = tokenMemo.get(hash);
  let token: string;
  let tokenExpiresAt: number;
  if (memo && memo.recordJson === recordJson && memo.expiresAt - now >= TOKEN_REUSE_MIN_MS) {
    ({ token, expiresAt: tokenExpiresAt } = memo);
  } else {
    const signed = await signPrincipalToken(
      { tenantId: record.tenantId, keyId: record.keyId, scopes: record.scopes, models: record.models },
      env.PRINCIPAL_SIGNING_JWK,
      now,
    );
    token = signed.token;
    tokenExpiresAt = signed.expiresAt;
    memoToken(hash, recordJson, token, tokenExpiresAt);
  }
  return {
    tenantId: record.tenantId,
    keyId: record.keyId,
    scopes: record.scopes,
    models: record.models,
    keyLimits: record.keyLimits,
    tenantLimits: record.tenantLimits,
    keyBudget: record.keyBudget,
    tenantBudget: record.tenantBudget,
    tenantCorsOrigins: record.tenantCorsOrigins,
    token,
    tokenExpiresAt,
    keyExpiresAt: record.expiresAt,
  };
}
