import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { generateApiKey, hashApiKey, parseApiKey, type Principal, type Result } from "../../../shared/src";
import { createKey, revokeKey, rotateKey } from "../admin/keys";
import { createTenant, disableTenant, updateTenant } from "../admin/tenants";
import { ADMIN, background, testEnv } from "../test-support";
import { authenticate } from "./authenticate";
import { resetTenantOfKey } from "./key-cache";
import { resetLastUsed } from "./last-used";

let env: AuthEnv;

beforeAll(async () => {
  ({ env } = await testEnv());
});
beforeEach(() => {
  resetLastUsed();
  resetTenantOfKey();
});

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

interface KvOp {
  op: "get" | "getWithMetadata" | "put" | "delete" | "list";
  /** The key, or every key of a bulk read. */
  keys: string[];
}

/**
 * KV `AUTH_CACHE` with every operation recorded, as Cloudflare counts them toward the 1,000
 * operations a Worker invocation may make: a bulk `get([...])` is one operation.
 */
function countingKv(kv: KVNamespace, options: { failPutsMatching?: RegExp } = {}): { kv: KVNamespace; ops: KvOp[] } {
  const ops: KvOp[] = [];
  const keysOf = (k: unknown): string[] => (Array.isArray(k) ? k.map(String) : [String(k)]);
  const wrapped = {
    get: (key: unknown, ...rest: unknown[]) => {
      ops.push({ op: "get", keys: keysOf(key) });
      return (kv.get as (...a: unknown[]) => unknown)(key, ...rest);
    },
    getWithMetadata: (key: unknown, ...rest: unknown[]) => {
      ops.push({ op: "getWithMetadata", keys: keysOf(key) });
      return (kv.getWithMetadata as (...a: unknown[]) => unknown)(key, ...rest);
    },
    put: async (key: string, ...rest: unknown[]) => {
      ops.push({ op: "put", keys: [key] });
      if (options.failPutsMatching?.test(key)) throw new Error("KV PUT failed: 429 Too Many Requests");
      return (kv.put as (...a: unknown[]) => Promise<void>)(key, ...rest);
    },
    delete: (key: string) => {
      ops.push({ op: "delete", keys: [key] });
      return kv.delete(key);
    },
    list: (...args: unknown[]) => {
      ops.push({ op: "list", keys: [] });
      return (kv.list as (...a: unknown[]) => unknown)(...args);
    },
  };
  return { kv: wrapped as unknown as KVNamespace, ops };
}

const withKv = (kv: KVNamespace): AuthEnv => ({ ...env, AUTH_CACHE: kv });

async function auth(key: string, useEnv: AuthEnv = env, now?: number): Promise<Result<Principal>> {
  const bg = background();
  const result = await authenticate({ env: useEnv, waitUntil: bg.waitUntil, now: now === undefined ? undefined : () => now }, key);
  await bg.settle();
  return result;
}

/** Inserts keys straight into D1 (the admin API would make this test minutes long), in chunked batches. */
async function insertKeys(tenantId: string, count: number): Promise<string[]> {
  const now = Math.floor(Date.now() / 1000);
  const keys: string[] = [];
  const statements: D1PreparedStatement[] = [];
  for (let i = 0; i < count; i++) {
    const key = generateApiKey("dev");
    const hash = await hashApiKey(key);
    const prefix = (parseApiKey(key) as { ok: true; prefix: string }).prefix;
    const id = `key_bulk_${tenantId}_${i}`;
    keys.push(key);
    statements.push(
      env.AUTH_DB.prepare(
        `INSERT INTO api_keys (id, tenant_id, prefix, hash, scopes, created_by, created_at, updated_at)
         VALUES (?1, ?2, ?3, ?4, '["chat"]', 'admin', ?5, ?5)`,
      ).bind(id, tenantId, prefix, hash, now),
      env.AUTH_DB.prepare("INSERT INTO api_key_secrets (hash, key_id, prefix, created_at) VALUES (?1, ?2, ?3, ?4)").bind(hash, id, prefix, now),
    );
  }
  for (let i = 0; i < statements.length; i += 500) await env.AUTH_DB.batch(statements.slice(i, i + 500));
  return keys;
}

async function newKey(tenantBody: Record<string, unknown> = { name: "acme" }) {
  const tenant = value(await createTenant(env, ADMIN, tenantBody));
  const key = value(await createKey(env, ADMIN, tenant.id, {}));
  return { tenant, key };
}

const cachedRecord = async (key: string) => env.AUTH_CACHE.get(`key:${await hashApiKey(key)}`);

describe("tenant-wide changes: one generation write, not one KV delete per key", () => {
  it("a tenant with 1,500 cached keys is re-limited and then disabled with a constant number of KV operations, and every key sees each change at its next authentication", async () => {
    const KEYS = 1_500;
    const tenant = value(await createTenant(env, ADMIN, { name: "big", limits: { rpm: 100 } }));
    const keys = await insertKeys(tenant.id, KEYS);

    // Prime the cache: every key's record is in KV.
    for (const k of keys) expect(value(await auth(k)).tenantLimits).toEqual({ rpm: 100 });
    const warm = countingKv(env.AUTH_CACHE);
    for (const k of keys) value(await auth(k, withKv(warm.kv)));
    expect(warm.ops.filter((o) => o.op === "put")).toEqual([]); // all served from KV, none rebuilt

    const patch = countingKv(env.AUTH_CACHE);
    value(await updateTenant(withKv(patch.kv), ADMIN, tenant.id, { limits: { rpm: 5 } }));
    expect(patch.ops).toEqual([{ op: "put", keys: [`tenant-gen:${tenant.id}`] }]);
    for (const k of keys) expect(value(await auth(k)).tenantLimits).toEqual({ rpm: 5 });

    const disable = countingKv(env.AUTH_CACHE);
    value(await disableTenant(withKv(disable.kv), ADMIN, tenant.id));
    expect(disable.ops).toEqual([{ op: "put", keys: [`tenant-gen:${tenant.id}`] }]);
    for (const k of keys) {
      expect(await auth(k)).toMatchObject({ ok: false, error: { code: "invalid_api_key", message: expect.stringContaining("revoked") } });
    }
  }, 120_000);

  it("a cache hit is one bulk KV read (record + tenant generation) once the isolate knows the key's tenant; two reads the first time", async () => {
    const { key } = await newKey();
    value(await auth(key.key)); // cached; this isolate now knows the key's tenant
    const hash = await hashApiKey(key.key);
    const known = countingKv(env.AUTH_CACHE);
    value(await auth(key.key, withKv(known.kv)));
    expect(known.ops).toEqual([{ op: "get", keys: [`key:${hash}`, `tenant-gen:${key.tenant_id}`] }]);

    resetTenantOfKey(); // as a fresh auth isolate
    const fresh = countingKv(env.AUTH_CACHE);
    value(await auth(key.key, withKv(fresh.kv)));
    expect(fresh.ops).toEqual([
      { op: "get", keys: [`key:${hash}`] },
      { op: "get", keys: [`tenant-gen:${key.tenant_id}`] },
    ]);
  });

  it("a record cached under an older generation is never served, even when written back after the change", async () => {
    const { tenant, key } = await newKey({ name: "acme", limits: { rpm: 10 } });
    value(await auth(key.key));
    const stale = await cachedRecord(key.key);
    expect(JSON.parse(stale!)).toMatchObject({ tenantLimits: { rpm: 10 }, gen: 1 });
    value(await updateTenant(env, ADMIN, tenant.id, { limits: { rpm: 3 } }));
    // A lookup that read D1 before the change and writes KV after it (or a location that saw no delete).
    await env.AUTH_CACHE.put(`key:${await hashApiKey(key.key)}`, stale!);

    expect(value(await auth(key.key)).tenantLimits).toEqual({ rpm: 3 });
    await env.AUTH_CACHE.put(`key:${await hashApiKey(key.key)}`, stale!);
    resetTenantOfKey(); // the first-sight path (two reads) applies the same rule
    expect(value(await auth(key.key)).tenantLimits).toEqual({ rpm: 3 });
    expect(JSON.parse((await cachedRecord(key.key))!)).toMatchObject({ tenantLimits: { rpm: 3 }, gen: 2 });
  });

  it("a stale record of a disabled tenant is refused although it is still in KV", async () => {
    const { tenant, key } = await newKey();
    value(await auth(key.key));
    const stale = await cachedRecord(key.key);
    value(await disableTenant(env, ADMIN, tenant.id));
    await env.AUTH_CACHE.put(`key:${await hashApiKey(key.key)}`, stale!);
    expect(await auth(key.key)).toMatchObject({ ok: false, error: { code: "invalid_api_key" } });
  });

  it("no tenant generation in KV: the cached record is not trusted, D1 decides, and the generation is put back", async () => {
    const { tenant, key } = await newKey({ name: "acme", limits: { rpm: 10 } });
    value(await auth(key.key));
    const hash = await hashApiKey(key.key);
    // The cached record says rpm 10 at generation 2; D1 says rpm 4 at generation 3, and KV has no generation.
    value(await updateTenant(env, ADMIN, tenant.id, { limits: { rpm: 20 } }));
    value(await auth(key.key));
    const forged = { ...JSON.parse((await cachedRecord(key.key))!), tenantLimits: { rpm: 10 } };
    await env.AUTH_DB.prepare("UPDATE tenants SET limits = '{\"rpm\":4}', generation = generation + 1 WHERE id = ?1").bind(tenant.id).run();
    await env.AUTH_CACHE.put(`key:${hash}`, JSON.stringify(forged));
    await env.AUTH_CACHE.delete(`tenant-gen:${tenant.id}`);

    expect(value(await auth(key.key)).tenantLimits).toEqual({ rpm: 4 });
    expect(await env.AUTH_CACHE.get(`tenant-gen:${tenant.id}`, "json")).toBe(3);
    // Repaired: the next lookup is a cache hit again.
    const next = countingKv(env.AUTH_CACHE);
    expect(value(await auth(key.key, withKv(next.kv))).tenantLimits).toEqual({ rpm: 4 });
    expect(next.ops.map((o) => o.op)).toEqual(["get"]);
  });

  it("a tenant from before generations (no KV generation) still authenticates, and its disable is seen", async () => {
    const { tenant, key } = await newKey();
    await env.AUTH_CACHE.delete(`tenant-gen:${tenant.id}`);
    value(await auth(key.key));
    value(await auth(key.key)); // repairs the generation
    expect(await env.AUTH_CACHE.get(`tenant-gen:${tenant.id}`, "json")).toBe(1);
    value(await disableTenant(env, ADMIN, tenant.id));
    expect((await auth(key.key)).ok).toBe(false);
  });

  it("a lost generation write does not fail the committed change; the change still holds in D1", async () => {
    const { tenant, key } = await newKey();
    value(await auth(key.key));
    const failing = countingKv(env.AUTH_CACHE, { failPutsMatching: /^tenant-gen:/ });
    const disabled = value(await disableTenant(withKv(failing.kv), ADMIN, tenant.id));
    expect(disabled.status).toBe("disabled");
    expect(failing.ops.filter((o) => o.op === "put")).toHaveLength(2); // one retry, then logged
    // The cached record is trusted until KV's TTL at most (key-cache.ts, "a lost write"); D1 is right.
    await env.AUTH_CACHE.delete(`key:${await hashApiKey(key.key)}`);
    expect(await auth(key.key)).toMatchObject({ ok: false, error: { code: "invalid_api_key" } });
  });

  it("a rename leaves the generation and the caches alone; a limits change bumps it once", async () => {
    const { tenant, key } = await newKey();
    value(await auth(key.key));
    const rename = countingKv(env.AUTH_CACHE);
    value(await updateTenant(withKv(rename.kv), ADMIN, tenant.id, { name: "renamed" }));
    expect(rename.ops).toEqual([]);
    const gen = () => env.AUTH_DB.prepare("SELECT generation FROM tenants WHERE id = ?1").bind(tenant.id).first<number>("generation");
    expect(await gen()).toBe(1);
    value(await updateTenant(env, ADMIN, tenant.id, { limits: { tpm: 9 } }));
    expect(await gen()).toBe(2);
    expect(await env.AUTH_CACHE.get(`tenant-gen:${tenant.id}`, "json")).toBe(2);
  });

  it("never hands out a principal token memoised under an older tenant generation", async () => {
    // Tokens are deterministic (Ed25519, second-resolution iat): later clocks tell a fresh one from a memoised one.
    const t0 = Date.now();
    const { tenant, key } = await newKey({ name: "acme", limits: { rpm: 1 } });
    const first = value(await auth(key.key, env, t0));
    expect(value(await auth(key.key, env, t0 + 10_000)).token).toBe(first.token); // memoised while nothing changed
    value(await updateTenant(env, ADMIN, tenant.id, { limits: { rpm: 2 } }));
    value(await updateTenant(env, ADMIN, tenant.id, { limits: { rpm: 1 } }));
    // Same limits as when the first token was minted, but a newer generation: a fresh token.
    const after = value(await auth(key.key, env, t0 + 20_000));
    expect(after.tenantLimits).toEqual({ rpm: 1 });
    expect(after.token).not.toBe(first.token);
    expect(after.tokenExpiresAt).toBeGreaterThan(first.tokenExpiresAt);
  });
});

describe("per-key changes still delete that key's entries only", () => {
  it("revoke deletes the key's entry (one KV delete) and leaves the tenant's other keys cached", async () => {
    const { tenant, key } = await newKey();
    const other = value(await createKey(env, ADMIN, tenant.id, {}));
    value(await auth(key.key));
    value(await auth(other.key));
    const revoke = countingKv(env.AUTH_CACHE);
    value(await revokeKey(withKv(revoke.kv), ADMIN, key.id));
    expect(revoke.ops).toEqual([{ op: "delete", keys: [`key:${await hashApiKey(key.key)}`] }]);
    expect(await auth(key.key)).toMatchObject({ ok: false, error: { message: expect.stringContaining("revoked") } });
    const otherLookup = countingKv(env.AUTH_CACHE);
    value(await auth(other.key, withKv(otherLookup.kv)));
    expect(otherLookup.ops.map((o) => o.op)).toEqual(["get"]); // still a hit
  });

  it("rotate with no grace ends the old secret at its next authentication", async () => {
    const { key } = await newKey();
    value(await auth(key.key));
    const rotated = value(await rotateKey(env, ADMIN, key.id, { grace_period_seconds: 0 }));
    expect((await auth(key.key)).ok).toBe(false);
    expect(value(await auth(rotated.key)).keyId).toBe(key.id);
  });
});
