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
    // That child holds all of its creator's rpm and budget (the family bound): free them first.
    value(await revokeKey(env, acting, child.id));
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
    const budget = await createKey(env, acting, tenant.id, { budget: { monthly_usd: 11 } });
    expect(!budget.ok && budget.error.message).toMatch(/'monthly_usd' must be at most \$10\.00 \(this key's own monthly budget\)\.$/);
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
    expect(await updateKey(env, acting, weak.id, { scopes: ["chat", "batch"] })).toMatchObject({
      ok: false,
      error: { code: "permission_denied", param: "scopes" },
    });
    expect(value(await revokeKey(env, acting, weak.id)).status).toBe("revoked");
  });

  it("manages (updates, rotates, revokes) only keys it could have created: limits, budget, models and expiry too, not only scopes", async () => {
    const expires = Math.floor(Date.now() / 1000) + 3600;
    const { tenant, acting } = await selfService({
      scopes: ["chat", "keys:write"],
      models: ["openai/*"],
      limits: { rpm: 100 },
      budget: { monthly_usd: 10 },
      expires_at: expires,
    });
    const within = { scopes: ["chat"], models: ["openai/gpt-4o"], limits: { rpm: 50 }, budget: { monthly_usd: 5 }, expires_at: expires };
    const beyond: [Record<string, unknown>, string][] = [
      [{ ...within, limits: { rpm: 1000 } }, "limits.rpm"],
      [{ ...within, limits: {} }, "limits.rpm"],
      [{ ...within, budget: { monthly_usd: 100 } }, "budget.monthly_usd"],
      [{ ...within, models: null }, "models"],
      [{ ...within, models: ["anthropic/*"] }, "models[0]"],
      [{ ...within, expires_at: null }, "expires_at"],
    ];
    for (const [body, param] of beyond) {
      const stronger = value(await createKey(env, ADMIN, tenant.id, body));
      const denied = { ok: false, error: { code: "permission_denied", param } };
      // Even a change that would bring it within bounds: the key is not this key's to manage.
      expect(await updateKey(env, acting, stronger.id, { limits: { rpm: 1 }, budget: { monthly_usd: 1 } }), param).toMatchObject(denied);
      expect(await rotateKey(env, acting, stronger.id, {}), param).toMatchObject(denied);
      expect(await revokeKey(env, acting, stronger.id), param).toMatchObject(denied);
      expect(value(await getKey(env, ADMIN, stronger.id)), param).toMatchObject({ status: "active", updated_at: stronger.updated_at, prefix: stronger.prefix });
    }
    const manageable = value(await createKey(env, ADMIN, tenant.id, within));
    expect(value(await updateKey(env, acting, manageable.id, { name: "mine" })).name).toBe("mine");
    value(await rotateKey(env, acting, manageable.id, {}));
    expect(value(await revokeKey(env, acting, manageable.id)).status).toBe("revoked");
  });

  it("its children together hold at most its own limits and budget, even when created at the same time", async () => {
    const { tenant, acting } = await selfService({ scopes: ["chat", "keys:write"], limits: { rpm: 100, tpm: 1000 }, budget: { monthly_usd: 10 } });
    const half = { limits: { rpm: 60, tpm: 600 }, budget: { monthly_usd: 6 } };
    const raced = await Promise.all([createKey(env, acting, tenant.id, half), createKey(env, acting, tenant.id, half)]);
    expect(raced.filter((r) => r.ok)).toHaveLength(1);
    expect(raced.find((r) => !r.ok)).toMatchObject({ ok: false, error: { code: "permission_denied", param: "limits.rpm" } });
    const a = value(raced.find((r) => r.ok) ?? raced[0]!);

    const cases: [Record<string, unknown>, string][] = [
      [{ limits: { rpm: 41, tpm: 400 }, budget: { monthly_usd: 4 } }, "limits.rpm"],
      [{ limits: { rpm: 40, tpm: 401 }, budget: { monthly_usd: 4 } }, "limits.tpm"],
      [{ limits: { rpm: 40, tpm: 400 }, budget: { monthly_usd: 4.01 } }, "budget.monthly_usd"],
    ];
    for (const [body, param] of cases) {
      expect(await createKey(env, acting, tenant.id, body), param).toMatchObject({ ok: false, error: { code: "permission_denied", param } });
    }
    const b = value(await createKey(env, acting, tenant.id, { limits: { rpm: 40, tpm: 400 }, budget: { monthly_usd: 4 } }));
    // Raising a child past the family's share is refused too (lowering never is); revoking one frees its share.
    expect(await updateKey(env, acting, a.id, { budget: { monthly_usd: 7 } })).toMatchObject({ ok: false, error: { param: "budget.monthly_usd" } });
    expect(await updateKey(env, ADMIN, a.id, { limits: { rpm: 61 } })).toMatchObject({ ok: false, error: { param: "limits.rpm" } });
    expect(value(await updateKey(env, acting, a.id, { budget: { monthly_usd: 5 } })).budget).toEqual({ monthly_usd: 5 });
    value(await revokeKey(env, acting, b.id));
    expect(value(await updateKey(env, acting, a.id, { budget: { monthly_usd: 10 } })).budget).toEqual({ monthly_usd: 10 });
    const { results } = await env.AUTH_DB.prepare("SELECT id FROM api_keys WHERE created_by = ?1").bind(acting.actor.label).all<{ id: string }>();
    expect(results.map((r) => r.id).sort()).toEqual([a.id, b.id].sort());
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
