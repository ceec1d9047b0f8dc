import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { generateApiKey, hashApiKey, type Principal, type Result } from "../../../shared/src";
import { verifyPrincipalToken } from "../../../shared/src/principal-token";
import { createKey, revokeKey, rotateKey, updateKey } from "../admin/keys";
import { createTenant, disableTenant, updateTenant } from "../admin/tenants";
import { ADMIN, background, testEnv } from "../test-support";
import { authenticate } from "./authenticate";
import { resetLastUsed } from "./last-used";

let env: AuthEnv;
let publicJwk: string;

beforeAll(async () => {
  ({ env, publicJwk } = await testEnv());
});
beforeEach(() => resetLastUsed());

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

async function auth(key: string, now?: number): Promise<{ result: Result<Principal>; settle: () => Promise<void> }> {
  const bg = background();
  const result = await authenticate({ env, waitUntil: bg.waitUntil, now: now === undefined ? undefined : () => now }, key);
  return { result, settle: bg.settle };
}

async function newKey(body: Record<string, unknown> = {}, tenantBody: Record<string, unknown> = { name: "acme" }) {
  const tenant = value(await createTenant(env, ADMIN, tenantBody));
  const key = value(await createKey(env, ADMIN, tenant.id, body));
  return { tenant, key };
}

describe("authenticate", () => {
  it("returns the principal of a valid key with a verifiable, short-lived EdDSA token", async () => {
    const { tenant, key } = await newKey(
      { scopes: ["chat", "embeddings"], models: ["gpt-4o*"], limits: { rpm: 10 }, budget: { monthly_usd: 5 } },
      { name: "acme", limits: { tpm: 1000 }, budget: { monthly_usd: 50 } },
    );
    const { result, settle } = await auth(key.key);
    await settle();
    const p = value(result);
    expect(p).toMatchObject({
      tenantId: tenant.id,
      keyId: key.id,
      scopes: ["chat", "embeddings"],
      models: ["gpt-4o*"],
      keyLimits: { rpm: 10 },
      tenantLimits: { tpm: 1000 },
      keyBudget: { monthly_usd: 5 },
      tenantBudget: { monthly_usd: 50 },
      keyExpiresAt: null,
    });
    expect(p.tokenExpiresAt - Date.now()).toBeGreaterThan(60_000);
    expect(p.tokenExpiresAt - Date.now()).toBeLessThanOrEqual(300_000);
    const claims = await verifyPrincipalToken(p.token, publicJwk);
    expect(claims).toEqual({ ok: true, value: { tenantId: tenant.id, keyId: key.id, scopes: ["chat", "embeddings"], models: ["gpt-4o*"] } });
  });

  it("caches the key in KV under its SHA-256 only, never the plaintext", async () => {
    const { key } = await newKey();
    const { settle } = await auth(key.key);
    await settle();
    const hash = await hashApiKey(key.key);
    const cached = await env.AUTH_CACHE.get(`key:${hash}`);
    expect(cached).toContain(key.id);
    expect(cached).not.toContain(key.key);
    const { keys } = await env.AUTH_CACHE.list();
    for (const k of keys) {
      expect(k.name).not.toContain(key.key);
      expect(await env.AUTH_CACHE.get(k.name)).not.toContain(key.key);
    }
  });

  it("stores the key as SHA-256 only in D1", async () => {
    const { key } = await newKey();
    const hash = await hashApiKey(key.key);
    const row = await env.AUTH_DB.prepare("SELECT * FROM api_keys WHERE id = ?").bind(key.id).first<Record<string, unknown>>();
    expect(row?.["hash"]).toBe(hash);
    expect(JSON.stringify(row)).not.toContain(key.key);
    const secret = await env.AUTH_DB.prepare("SELECT * FROM api_key_secrets WHERE key_id = ?").bind(key.id).first();
    expect(secret).toMatchObject({ hash, key_id: key.id });
  });

  it("refuses an unknown key of valid format, a typo, garbage and another environment's key, as invalid_api_key", async () => {
    const unknown = await auth(generateApiKey("dev"));
    expect(unknown.result).toMatchObject({ ok: false, error: { code: "invalid_api_key" } });
    const { key } = await newKey();
    const typo = key.key.slice(0, -1) + (key.key.endsWith("a") ? "b" : "a");
    expect((await auth(typo)).result).toMatchObject({ ok: false, error: { code: "invalid_api_key", message: expect.stringContaining("checksum") } });
    expect((await auth("not-a-key")).result).toMatchObject({ ok: false, error: { code: "invalid_api_key" } });
    expect((await auth(generateApiKey("live"))).result).toMatchObject({
      ok: false,
      error: { code: "invalid_api_key", message: expect.stringContaining("'live' environment") },
    });
    expect((await auth("")).result).toMatchObject({ ok: false, error: { code: "missing_api_key" } });
  });

  it("no error ever contains the presented key", async () => {
    const { key } = await newKey();
    await revokeKey(env, ADMIN, key.id);
    const { result } = await auth(key.key);
    expect(JSON.stringify(result)).not.toContain(key.key);
  });

  it("refuses a revoked key on the next call even though it was cached in KV", async () => {
    const { key } = await newKey();
    const first = await auth(key.key);
    await first.settle();
    expect(first.result.ok).toBe(true);
    expect(await env.AUTH_CACHE.get(`key:${await hashApiKey(key.key)}`)).not.toBeNull();
    value(await revokeKey(env, ADMIN, key.id));
    expect(await env.AUTH_CACHE.get(`key:${await hashApiKey(key.key)}`)).toBeNull();
    expect((await auth(key.key)).result).toMatchObject({ ok: false, error: { code: "invalid_api_key", message: expect.stringContaining("revoked") } });
  });

  it("refuses an expired key, also from the KV cache", async () => {
    const now = Date.now();
    const expiresAt = Math.floor(now / 1000) + 3600;
    const { key } = await newKey({ expires_at: expiresAt });
    const before = await auth(key.key, now);
    await before.settle();
    expect(value(before.result).keyExpiresAt).toBe(expiresAt * 1000);
    const after = await auth(key.key, expiresAt * 1000 + 1);
    expect(after.result).toMatchObject({ ok: false, error: { code: "invalid_api_key", message: expect.stringContaining("expired") } });
  });

  it("applies new scopes and tenant limits on the next call (cache entries are dropped)", async () => {
    const { tenant, key } = await newKey({ scopes: ["chat"] });
    await (await auth(key.key)).settle();
    value(await updateKey(env, ADMIN, key.id, { scopes: ["chat", "batch"] }));
    value(await updateTenant(env, ADMIN, tenant.id, { limits: { rpm: 7 } }));
    const p = value((await auth(key.key)).result);
    expect(p.scopes).toEqual(["chat", "batch"]);
    expect(p.tenantLimits).toEqual({ rpm: 7 });
    const claims = value(await verifyPrincipalToken(p.token, publicJwk));
    expect(claims.scopes).toEqual(["chat", "batch"]);
  });

  it("refuses every key of a disabled tenant", async () => {
    const { tenant, key } = await newKey();
    const other = value(await createKey(env, ADMIN, tenant.id, {}));
    await (await auth(key.key)).settle();
    value(await disableTenant(env, ADMIN, tenant.id));
    expect((await auth(key.key)).result.ok).toBe(false);
    expect((await auth(other.key)).result.ok).toBe(false);
  });

  it("rotation: the new secret works, the old one until the grace period ends, same key id", async () => {
    const { key } = await newKey();
    await (await auth(key.key)).settle();
    const rotated = value(await rotateKey(env, ADMIN, key.id, { grace_period_seconds: 600 }));
    expect(rotated.id).toBe(key.id);
    expect(rotated.key).not.toBe(key.key);
    const now = Date.now();
    expect(value((await auth(rotated.key, now)).result).keyId).toBe(key.id);
    const old = await auth(key.key, now);
    await old.settle();
    expect(value(old.result).keyExpiresAt).toBe(rotated.previous_key_expires_at * 1000);
    expect((await auth(key.key, rotated.previous_key_expires_at * 1000 + 1)).result).toMatchObject({ ok: false });
    expect((await auth(rotated.key, rotated.previous_key_expires_at * 1000 + 1)).result.ok).toBe(true);
  });

  it("rotation with grace 0 ends the old secret at once", async () => {
    const { key } = await newKey();
    await (await auth(key.key)).settle();
    const rotated = value(await rotateKey(env, ADMIN, key.id, { grace_period_seconds: 0 }));
    expect((await auth(key.key)).result.ok).toBe(false);
    expect((await auth(rotated.key)).result.ok).toBe(true);
  });

  it("records last_used_at without a D1 write per call (at most one per minute per key)", async () => {
    const { key } = await newKey();
    const t0 = Date.now();
    await (await auth(key.key, t0)).settle();
    const read = () => env.AUTH_DB.prepare("SELECT last_used_at FROM api_keys WHERE id = ?").bind(key.id).first<{ last_used_at: number | null }>();
    expect((await read())!.last_used_at).toBe(Math.floor(t0 / 1000));
    await (await auth(key.key, t0 + 30_000)).settle();
    expect((await read())!.last_used_at).toBe(Math.floor(t0 / 1000));
    await (await auth(key.key, t0 + 61_000)).settle();
    expect((await read())!.last_used_at).toBe(Math.floor((t0 + 61_000) / 1000));
  });
});
