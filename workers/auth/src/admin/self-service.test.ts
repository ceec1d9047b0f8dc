import { beforeAll, describe, expect, it } from "vitest";
import type { Result } from "../../../shared/src";
import { authenticate } from "../authenticate/authenticate";
import { ADMIN, background, testEnv } from "../test-support";
import { resolveActor, type Acting } from "./actor";
import { createKey, getKey, listKeys, revokeKey, rotateKey, updateKey } from "./keys";
import { createTenant, listTenants } from "./tenants";

let env: AuthEnv;
beforeAll(async () => {
  ({ env } = await testEnv());
});

function value<T>(r: Result<T>): T {
  if (!r.ok) throw new Error(`expected ok, got ${JSON.stringify(r.error)}`);
  return r.value;
}

/** A tenant with a `keys:write` key, acting as that key (via its verified principal token). */
async function selfService(body: Record<string, unknown>) {
  const tenant = value(await createTenant(env, ADMIN, { name: "self" }));
  const writer = value(await createKey(env, ADMIN, tenant.id, body));
  const principal = value(await authenticate({ env, waitUntil: background().waitUntil }, writer.key));
  const acting = value(await resolveActor(env, { requestId: "req_self_service_1", actor: { type: "key", token: principal.token } }));
  return { tenant, writer, acting };
}

describe("tenant self-service (keys:write)", () => {
  it("creates keys within its own bounds; defaults come from the creator", async () => {
    const { tenant, writer, acting } = await selfService({
      scopes: ["chat", "embeddings", "keys:write"],
      models: ["openai/*"],
      limits: { rpm: 100 },
      budget: { monthly_usd: 10 },
    });
    const child = value(await createKey(env, acting, tenant.id, { name: "ci" }));
    expect(child).toMatchObject({
      tenant_id: tenant.id,
      scopes: ["chat", "embeddings"],
      models: ["openai/*"],
      limits: { rpm: 100, tpm: null, max_concurrency: null },
      budget: { monthly_usd: 10 },
      created_by: `key:${writer.id}`,
    });
    const narrower = value(await createKey(env, acting, tenant.id, { scopes: ["chat"], models: ["openai/gpt-4o*"], limits: { rpm: 5 } }));
    expect(narrower.models).toEqual(["openai/gpt-4o*"]);
  });

  it("can never grant beyond its own scopes, models, limits, budget or expiry (403 naming the param)", async () => {
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const { tenant, acting } = await selfService({
      scopes: ["chat", "keys:write"],
      models: ["openai/*"],
      limits: { rpm: 100 },
      budget: { monthly_usd: 10 },
      expires_at: expires,
    });
    const cases: [Record<string, unknown>, string][] = [
      [{ scopes: ["chat", "batch"] }, "scopes"],
      [{ models: ["anthropic/*"] }, "models[0]"],
      [{ models: ["openai/gpt-4o", "*"] }, "models[1]"],
      [{ models: null }, "models"],
      [{ limits: { rpm: 101 } }, "limits.rpm"],
      [{ limits: { rpm: null } }, "limits.rpm"],
      [{ budget: { monthly_usd: 11 } }, "budget.monthly_usd"],
      [{ expires_at: expires + 1 }, "expires_at"],
      [{ expires_at: null }, "expires_at"],
    ];
    for (const [body, param] of cases) {
      const r = await createKey(env, acting, tenant.id, body);
      expect(r, JSON.stringify(body)).toMatchObject({ ok: false, error: { code: "permission_denied", param } });
    }
  });

  it("cannot see or touch another tenant's keys: 404, never 403", async () => {
    const { acting } = await selfService({ scopes: ["chat", "keys:write"] });
    const other = value(await createTenant(env, ADMIN, { name: "other" }));
    const theirs = value(await createKey(env, ADMIN, other.id, { scopes: ["chat"] }));
    const notFound = { ok: false, error: { code: "not_found" } };
    expect(await getKey(env, acting, theirs.id)).toMatchObject(notFound);
    expect(await updateKey(env, acting, theirs.id, { name: "x" })).toMatchObject(notFound);
    expect(await revokeKey(env, acting, theirs.id)).toMatchObject(notFound);
    expect(await rotateKey(env, acting, theirs.id, {})).toMatchObject(notFound);
    expect(await listKeys(env, acting, other.id, {})).toMatchObject(notFound);
    expect(await createKey(env, acting, other.id, {})).toMatchObject(notFound);
    expect(value(await getKey(env, ADMIN, theirs.id)).revoked_at).toBeNull();
  });

  it("cannot manage a key that holds scopes it lacks, nor raise a key's scopes", async () => {
    const { tenant, acting } = await selfService({ scopes: ["chat", "keys:write"] });
    const strong = value(await createKey(env, ADMIN, tenant.id, { scopes: ["chat", "batch"] }));
    expect(await revokeKey(env, acting, strong.id)).toMatchObject({ ok: false, error: { code: "permission_denied" } });
    const weak = value(await createKey(env, acting, tenant.id, { scopes: ["chat"] }));
    expect(await updateKey(env, acting, weak.id, { scopes: ["chat", "batch"] })).toMatchObject({ ok: false, error: { code: "permission_denied", param: "scopes" } });
    expect(value(await revokeKey(env, acting, weak.id)).status).toBe("revoked");
  });

  it("cannot manage tenants", async () => {
    const { acting } = await selfService({ scopes: ["keys:write"] });
    expect(await listTenants(env, acting, {})).toMatchObject({ ok: false, error: { code: "permission_denied" } });
  });

  it("a key without keys:write, or a revoked one, cannot act at all", async () => {
    const tenant = value(await createTenant(env, ADMIN, { name: "t" }));
    const plain = value(await createKey(env, ADMIN, tenant.id, { scopes: ["chat"] }));
    const p = value(await authenticate({ env, waitUntil: background().waitUntil }, plain.key));
    expect(await resolveActor(env, { requestId: "req_x_12345678", actor: { type: "key", token: p.token } })).toMatchObject({
      ok: false,
      error: { code: "permission_denied" },
    });
    const { writer, acting } = await selfService({ scopes: ["keys:write"] });
    void acting;
    const wp = value(await authenticate({ env, waitUntil: background().waitUntil }, writer.key));
    value(await revokeKey(env, ADMIN, writer.id));
    expect(await resolveActor(env, { requestId: "req_x_12345678", actor: { type: "key", token: wp.token } })).toMatchObject({
      ok: false,
      error: { code: "invalid_api_key" },
    });
    expect(await resolveActor(env, { requestId: "req_x_12345678", actor: { type: "key", token: "forged.token.value" } })).toMatchObject({ ok: false });
  });
});

describe("audit log", () => {
  it("records who, what, when and the request id of each change, never key material", async () => {
    const { tenant, acting } = await selfService({ scopes: ["chat", "keys:write"] });
    const child = value(await createKey(env, acting, tenant.id, { name: "audited" }));
    value(await rotateKey(env, acting, child.id, { grace_period_seconds: 10 }));
    value(await revokeKey(env, ADMIN as Acting, child.id));
    const { results } = await env.AUTH_DB.prepare("SELECT * FROM audit_log WHERE target_id = ? ORDER BY rowid").bind(child.id).all<Record<string, unknown>>();
    expect(results.map((r) => [r["action"], r["actor"], r["request_id"]])).toEqual([
      ["key.create", acting.actor.label, "req_self_service_1"],
      ["key.rotate", acting.actor.label, "req_self_service_1"],
      ["key.revoke", "admin", "req_test_admin"],
    ]);
    for (const r of results) {
      expect(typeof r["at"]).toBe("number");
      expect(JSON.stringify(r)).not.toContain(child.key);
      expect(JSON.stringify(r)).not.toMatch(/sk-dev-/);
    }
  });
});
