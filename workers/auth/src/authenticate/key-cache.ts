import type { Budget, Limits, Principal, Scope } from "../../../shared/src";
import { parseJson } from "../db/rows";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * What auth knows about an active key secret, minus the principal token: the value cached in KV
 * `AUTH_CACHE` under `key:<sha256 of the key>`. Only active keys are cached here; refusals that can
 * never change are remembered per isolate, in memory (secret-lookup.ts), not in KV: a KV write per
 * unknown key would make a flood of random keys cost writes instead of reads.
 *
 * `gen` is the tenant's cache generation (D1 `tenants.generation`) the record was read under.
 * `v: 3` since records carry the tenant's CORS origins: older entries (no generation, or no
 * origins) left over from before are misses.
 */
export type KeyRecord = Omit<Principal, "token" | "tokenExpiresAt" | "keyExpiresAt"> & {
  v: 3;
  gen: number;
  /** Epoch ms at which this secret stops working (key expiry or rotation grace); null = never. */
  expiresAt: number | null;
};

/** The columns of a key joined with its tenant that make a record (the same names in every query). */
export interface KeyRecordColumns {
  key_id: string;
  tenant_id: string;
  scopes: string;
  models: string | null;
  limits: string;
  budget: string;
  tenant_limits: string;
  tenant_budget: string;
  tenant_cors_origins: string;
  tenant_generation: number;
}

/** The one reading of a key row into a record, for the key-secret path and the key-id path alike. */
export function keyRecordOf(row: KeyRecordColumns, expiresAt: number | null): KeyRecord {
  return {
    v: 3,
    gen: row.tenant_generation,
    tenantId: row.tenant_id,
    keyId: row.key_id,
    scopes: parseJson<Scope[]>(row.scopes, []),
    models: parseJson<string[] | null>(row.models, null),
    keyLimits: parseJson<Limits>(row.limits, {}),
    tenantLimits: parseJson<Limits>(row.tenant_limits, {}),
    keyBudget: parseJson<Budget>(row.budget, {}),
    tenantBudget: parseJson<Budget>(row.tenant_budget, {}),
    tenantCorsOrigins: parseJson<string[]>(row.tenant_cors_origins, []),
    expiresAt,
  };
}
/**
 * How changes reach the cache, and the worst case until every key sees them:
 *
 * - A change to ONE key (revoke, rotate, patch) deletes that key's entries (`evictCachedKeys`:
 *   one KV delete per secret of the key, a handful at most).
 * - A change to a TENANT (limits, budget, disable) bumps the tenant's generation in D1, in the same
 *   batch as the change, and writes it to KV `tenant-gen:<tenant id>` (`publishTenantGeneration`):
 *   ONE KV write whatever the number of keys — a fan-out of deletes would exceed the 1,000 KV
 *   operations a Worker invocation may make for a large tenant, and fail part-way.
 * - A lookup (`readCachedKey`) reads the record and the tenant's generation together, in one bulk
 *   KV read (one operation), and serves the record only if `record.gen >= tenant-gen`. A record
 *   from an older generation is a miss: the caller rebuilds it from D1 and re-caches it.
 *   `>=`, not `===`: a record read from D1 after a bump may reach a location before that
 *   location's KV shows the bump; it already holds the new state and is safe to serve.
 * - No `tenant-gen` in KV (a tenant from before generations, a lost write): the record is not
 *   trusted — the caller reads D1 (the truth) and repairs `tenant-gen` from it
 *   (`repairTenantGeneration`). Never "no generation known, so serve what is cached".
 *
 * Worst case until a change is seen, at the auth level (the gateway's 2 s isolate cache adds 2 s):
 *   - the location that made the change: the next lookup (KV is read-your-writes there);
 *   - another location: ≤ 60 s, KV's global propagation of the delete or the generation write;
 *   - a lost write (auth died between D1 and KV, or KV refused the write), or a repair that raced
 *     a bump and put back the older generation (KV has no compare-and-set): stale records keep
 *     matching the older generation until they expire, ≤ KV_TTL_SECONDS (300 s) after the change.
 *     Any record rebuilt from D1 meanwhile carries the new generation, so nothing outlives that.
 *
 * KV cost per lookup: one bulk read once this isolate knows the key's tenant (a key never changes
 * tenant, so `tenantOfKey` memoises it); the first lookup of a key in an isolate reads the record,
 * then the generation of the tenant it names: two reads, one after the other.
 */
export const KV_TTL_SECONDS = 300;
/** KV's minimum expirationTtl. */
const KV_MIN_TTL_SECONDS = 60;

const keyEntry = (hash: string) => `key:${hash}`;
const generationEntry = (tenantId: string) => `tenant-gen:${tenantId}`;

/** What a cache lookup found. */
export interface CachedKey {
  /** The record, if cached and current; null means: ask D1. */
  record: KeyRecord | null;
  /**
   * The tenant's generation as KV has it: a number; null when KV has none (the caller should
   * repair it from D1); undefined when it was not read (the record itself was not cached).
   */
  tenantGeneration?: number | null;
}

/** Key hash → tenant id, learnt from records. Immutable facts, so never invalidated, only bounded. */
const tenantOfKey = new Map<string, string>();
const MAX_TENANT_OF_KEY = 10_000;

/** Remembers which tenant a key belongs to, so that its next lookup is a single bulk KV read. */
export function rememberTenantOfKey(hash: string, tenantId: string): void {
  if (tenantOfKey.get(hash) === tenantId) return;
  if (tenantOfKey.size >= MAX_TENANT_OF_KEY) {
    const oldest = tenantOfKey.keys().next();
    if (!oldest.done) tenantOfKey.delete(oldest.value);
  }
  tenantOfKey.set(hash, tenantId);
}

function asRecord(value: unknown): KeyRecord | null {
  const r = value as KeyRecord | null;
  return r && typeof r === "object" && r.v === 3 && typeof r.gen === "number" ? r : null;
}

function asGeneration(value: unknown): number | null {
  return typeof value === "number" && Number.isSafeInteger(value) ? value : null;
}

/** The cached record of this secret if it is as new as its tenant's generation; see the notes above. */
export async function readCachedKey(kv: KVNamespace, hash: string): Promise<CachedKey> {
  const knownTenant = tenantOfKey.get(hash);
  let record: KeyRecord | null;
  let tenantGeneration: number | null;
  if (knownTenant !== undefined) {
    const values = await kv.get<unknown>([keyEntry(hash), generationEntry(knownTenant)], "json");
    record = asRecord(values.get(keyEntry(hash)));
    tenantGeneration = asGeneration(values.get(generationEntry(knownTenant)));
    // A record naming another tenant cannot happen (keys never move); if it did, trust D1.
    if (record && record.tenantId !== knownTenant) return { record: null, tenantGeneration: undefined };
  } else {
    record = asRecord(await kv.get<unknown>(keyEntry(hash), "json"));
    if (!record) return { record: null };
    rememberTenantOfKey(hash, record.tenantId);
    tenantGeneration = asGeneration(await kv.get<unknown>(generationEntry(record.tenantId), "json"));
  }
  if (!record || tenantGeneration === null || record.gen < tenantGeneration) return { record: null, tenantGeneration };
  return { record, tenantGeneration };
}

/** Caches an active key, never beyond its own expiry. */
export async function writeCachedKey(kv: KVNamespace, hash: string, record: KeyRecord, nowMs: number): Promise<void> {
  let ttl = KV_TTL_SECONDS;
  if (record.expiresAt !== null) ttl = Math.min(ttl, Math.floor((record.expiresAt - nowMs) / 1000));
  if (ttl < KV_MIN_TTL_SECONDS) return; // expires too soon to be worth caching (KV can't hold it shorter)
  await kv.put(keyEntry(hash), JSON.stringify(record), { expirationTtl: ttl });
}

/**
 * Deletes the cached entries of ONE key's secrets (a key has one, plus any still in a rotation
 * grace period): from KV and from this isolate's token memo. Never for a whole tenant: that is
 * `publishTenantGeneration`, one KV write whatever the number of keys.
 */
export async function evictCachedKeys(kv: KVNamespace, hashes: readonly string[]): Promise<void> {
  for (const h of hashes) tokenMemo.delete(h);
  await Promise.all(hashes.map((h) => kv.delete(keyEntry(h))));
}

/**
 * Publishes a tenant's new generation (already committed to D1) to KV: one write, no TTL (a
 * generation must not vanish while records stamped with an older one are cached). A failed write
 * is retried once, then logged and swallowed: the change is committed, and failing the admin call
 * would only invite a retry of a change that happened; the bound is the lost-write case above.
 */
export async function publishTenantGeneration(kv: KVNamespace, tenantId: string, generation: number): Promise<void> {
  for (let attempt = 1; ; attempt++) {
    try {
      await kv.put(generationEntry(tenantId), String(generation));
      return;
    } catch (err) {
      if (attempt < 2) continue;
      log.error("auth", "tenant generation not published to KV; cached keys of this tenant converge within the KV TTL", {
        tenantId,
        detail: generation,
        message: errorMessage(err),
      });
      return;
    }
  }
}

/**
 * Puts back a tenant's generation that KV had lost, from the value just read in D1. Called only
 * when KV had none (never to overwrite one: without compare-and-set that could lower it). A repair
 * racing a bump may still write the older value; see the worst case above.
 */
export async function repairTenantGeneration(kv: KVNamespace, tenantId: string, generation: number): Promise<void> {
  await kv.put(generationEntry(tenantId), String(generation));
}

/**
 * Minted tokens in this auth isolate, by key hash, reused while the record they were minted for is
 * unchanged and they have at least TOKEN_REUSE_MIN_MS left. Saves an Ed25519 signature per cache
 * miss of the gateway; never decides validity (the record is re-read from KV/D1 every call, and
 * checked against the tenant's generation first). The record compared includes its generation, so
 * a token minted under an older tenant generation is never handed out again.
 */
export const tokenMemo = new Map<string, { recordJson: string; token: string; expiresAt: number }>();
export const TOKEN_REUSE_MIN_MS = 120_000;
const MAX_MEMO = 10_000;

export function memoToken(hash: string, recordJson: string, token: string, expiresAt: number): void {
  if (tokenMemo.size >= MAX_MEMO) {
    const oldest = tokenMemo.keys().next();
    if (!oldest.done) tokenMemo.delete(oldest.value);
  }
  tokenMemo.set(hash, { recordJson, token, expiresAt });
}

/** For tests: forget which tenant each key belongs to (as a fresh isolate would). */
export function resetTenantOfKey(): void {
  tenantOfKey.clear();
}
