import { beforeAll, describe, expect, it } from "vitest";
import { ConfigCache } from "./config-cache";
import { CredentialCache } from "./credentials";
import { ProviderAdmin } from "./providers-admin";
import { fakeSecrets, migrated } from "./test-support";

let db: D1Database;
beforeAll(async () => {
  db = await migrated();
});

const PRODUCTION = { allowPrivate: false };
let n = 0;
const owner = () => `ten_admin_${++n}`;
const KEY = "fake-provider-key-0123456789abcdefWXYZ";

function admin(policy = PRODUCTION) {
  const fake = fakeSecrets();
  const cache = new ConfigCache();
  return { ...fake, cache, admin: new ProviderAdmin({ db, secrets: fake.secrets, policy, cache, credentials: new CredentialCache() }) };
}

describe("ProviderAdmin", () => {
  it("stores the credential in the secrets Worker and only its reference in D1", async () => {
    const t = admin();
    const o = owner();
    const created = await t.admin.create(o, { name: "openai", type: "openai", api_key: KEY });
    if (!created.ok) throw new Error(created.error.message);
    expect(created.value).toMatchObject({ owner: "tenant", base_url: "https://api.openai.com/v1", has_api_key: true, last4: "WXYZ" });
    expect(JSON.stringify(created.value)).not.toContain(KEY);
    const row = await db.prepare("SELECT * FROM providers WHERE id = ?").bind(created.value.id).first<Record<string, unknown>>();
    expect(JSON.stringify(row)).not.toContain(KEY);
    expect(row!["credential_ref"]).toMatch(/^cred_/);
    expect(t.plaintexts.get(row!["credential_ref"] as string)).toBe(KEY);
  });

  it.each<[string, Record<string, unknown>, string]>([
    ["no credential for a keyed type", { name: "x", type: "groq" }, "api_key"],
    ["no base_url for openai-compatible", { name: "x", type: "openai-compatible" }, "base_url"],
    ["a loopback base_url in production", { name: "x", type: "openai-compatible", base_url: "https://127.0.0.1/v1" }, "base_url"],
    ["a loopback preset default in production", { name: "x", type: "vllm" }, "base_url"],
    ["a forbidden header", { name: "x", type: "openai", api_key: KEY, headers: { "x-api-key": "k" } }, "headers.x-api-key"],
  ])("refuses %s, naming the param, without storing anything", async (_what, body, param) => {
    const t = admin();
    const result = await t.admin.create(owner(), body);
    expect(result).toMatchObject({ ok: false, error: { code: "invalid_request", param } });
    expect(t.calls).toEqual([]);
  });

  it("lets local development use loopback upstreams and keyless local servers", async () => {
    const t = admin({ allowPrivate: true });
    expect(await t.admin.create(owner(), { name: "local", type: "vllm" })).toMatchObject({
      ok: true,
      value: { base_url: "http://localhost:8000/v1", has_api_key: false },
    });
  });

  it("refuses a duplicate name with 409 and stores no orphan credential", async () => {
    const t = admin();
    const o = owner();
    await t.admin.create(o, { name: "dup", type: "openai", api_key: KEY });
    const calls = t.calls.length;
    expect(await t.admin.create(o, { name: "dup", type: "openai", api_key: KEY })).toMatchObject({ ok: false, error: { code: "conflict", param: "name" } });
    expect(t.calls.length).toBe(calls);
    // The same name under another owner is fine.
    expect((await t.admin.create(owner(), { name: "dup", type: "openai", api_key: KEY })).ok).toBe(true);
  });

  it("sees only the owner's own providers: another owner's id is not found", async () => {
    const t = admin();
    const a = owner();
    const b = owner();
    const created = await t.admin.create(a, { name: "mine", type: "openai", api_key: KEY });
    const id = created.ok ? created.value.id : "";
    for (const result of [
      await t.admin.get(b, id),
      await t.admin.update(b, id, { enabled: false }),
      await t.admin.rotate(b, id, { api_key: "k2" }),
      await t.admin.delete(b, id),
    ]) {
      expect(result).toMatchObject({ ok: false, error: { code: "not_found" } });
    }
    expect(await t.admin.list(b)).toEqual({ ok: true, value: { object: "list", data: [] } });
    expect(await t.admin.get(a, id)).toMatchObject({ ok: true, value: { enabled: true } });
  });

  it("rotates behind the same reference and drops the owner's cached configuration", async () => {
    const t = admin();
    const o = owner();
    const created = await t.admin.create(o, { name: "rot", type: "openai", api_key: KEY });
    if (!created.ok) throw new Error("create failed");
    await t.cache.get(db, o, () => {});
    const rotated = await t.admin.rotate(o, created.value.id, { api_key: "sk-live-rotated-000000000NEW1" });
    expect(rotated).toMatchObject({ ok: true, value: { last4: "NEW1" } });
    expect(t.calls.filter((c) => c.startsWith("rotate:"))).toHaveLength(1);
    const config = await t.cache.get(db, o, () => {});
    expect(config.providers.get("rot")?.last4).toBe("NEW1");
  });

  it("updates with PATCH (re-checking the endpoint), refuses a taken name", async () => {
    const t = admin();
    const o = owner();
    const a = await t.admin.create(o, { name: "a", type: "openai", api_key: KEY });
    await t.admin.create(o, { name: "b", type: "openai", api_key: KEY });
    const id = a.ok ? a.value.id : "";
    expect(await t.admin.update(o, id, { models: ["gpt-4o"], timeout_ms: 5000 })).toMatchObject({ ok: true, value: { models: ["gpt-4o"], timeout_ms: 5000 } });
    expect(await t.admin.update(o, id, { name: "b" })).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect(await t.admin.update(o, id, { name: "b", api_key: "sk-live-refused-0000000000NEW1" })).toMatchObject({ ok: false, error: { code: "conflict" } });
    expect([...t.plaintexts.values()]).not.toContain("sk-live-refused-0000000000NEW1");
    expect(await t.admin.update(o, id, { type: "openai-compatible", base_url: "https://[::1]/v1" })).toMatchObject({ ok: false, error: { param: "base_url" } });
  });

  it("moves a provider with a credential to another host only with a new credential, then drops the old one", async () => {
    const t = admin();
    const o = owner();
    const created = await t.admin.create(o, { name: "mv", type: "openai-compatible", base_url: "https://llm.example.com/v1", api_key: KEY });
    const id = created.ok ? created.value.id : "";
    expect(await t.admin.update(o, id, { base_url: "https://llm.example.com/v2" })).toMatchObject({
      ok: true,
      value: { base_url: "https://llm.example.com/v2", last4: "WXYZ" },
    });
    for (const patch of [{ base_url: "https://other.example.com/v1" }, { base_url: "https://llm.example.com:8443/v1" }, { type: "groq", base_url: null }]) {
      expect(await t.admin.update(o, id, patch)).toMatchObject({ ok: false, error: { code: "invalid_request", param: "api_key" } });
    }
    expect(await t.admin.get(o, id)).toMatchObject({ ok: true, value: { base_url: "https://llm.example.com/v2" } });
    const moved = await t.admin.update(o, id, { base_url: "https://other.example.com/v1", api_key: "sk-live-other-host-000000NEW2" });
    expect(moved).toMatchObject({ ok: true, value: { base_url: "https://other.example.com/v1", last4: "NEW2", has_api_key: true } });
    expect([...t.plaintexts.values()]).toEqual(["sk-live-other-host-000000NEW2"]);
  });

  it("deletes the row and the credential", async () => {
    const t = admin();
    const o = owner();
    const created = await t.admin.create(o, { name: "gone", type: "openai", api_key: KEY });
    const id = created.ok ? created.value.id : "";
    expect(await t.admin.delete(o, id)).toEqual({ ok: true, value: { id, object: "provider", deleted: true } });
    expect(t.plaintexts.size).toBe(0);
    expect(await t.admin.get(o, id)).toMatchObject({ ok: false, error: { code: "not_found" } });
  });
});
