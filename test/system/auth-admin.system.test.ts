import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack";
import { adminFetch, createKey, createTenant, tenantWithKey, type ApiKey, type Tenant } from "../support/tenants";
import { expectError } from "../support/errors";
import { gatewayFetch } from "../support/fetch";

/** The admin API (tenants, keys, audit log) and tenant self-service under /v1/keys, over HTTP. */
let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

type ErrorBody = { error: { message: string; type: string; param: string | null; code: string | null } };

async function json<T>(res: Response): Promise<T> {
  return (await res.json()) as T;
}

const keyFetch = (apiKey: string, path: string, init: { method?: string; body?: unknown } = {}) => gatewayFetch(stack, path, { key: apiKey, ...init });

describe("tenants", () => {
  it("create → 201 with id, name, created_at; get, list, patch limits/budget, delete disables", async () => {
    const res = await adminFetch(stack, "/admin/tenants", { body: { name: "Acme Corp" } });
    expect(res.status).toBe(201);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    const tenant = await json<Tenant>(res);
    expect(tenant).toMatchObject({ id: expect.stringMatching(/^ten_/), object: "tenant", name: "Acme Corp", status: "active", disabled_at: null });
    expect(Math.abs(tenant.created_at - Date.now() / 1000)).toBeLessThan(60);

    expect(await json(await adminFetch(stack, `/admin/tenants/${tenant.id}`))).toEqual(tenant);

    const list = await json<{ object: string; data: Tenant[] }>(await adminFetch(stack, "/admin/tenants?limit=100"));
    expect(list.object).toBe("list");
    expect(list.data.map((t) => t.id)).toContain(tenant.id);

    const patched = await adminFetch(stack, `/admin/tenants/${tenant.id}`, {
      method: "PATCH",
      body: { limits: { rpm: 60, tpm: 10000, max_concurrency: 4 }, budget: { monthly_usd: 25.5 } },
    });
    expect(patched.status).toBe(200);
    expect(await json(patched)).toMatchObject({ limits: { rpm: 60, tpm: 10000, max_concurrency: 4 }, budget: { monthly_usd: 25.5 } });
    // Per-axis PATCH: a given axis is set, null clears, absent keeps.
    const again = await json<Tenant>(await adminFetch(stack, `/admin/tenants/${tenant.id}`, { method: "PATCH", body: { limits: { rpm: null } } }));
    expect(again.limits).toEqual({ rpm: null, tpm: 10000, max_concurrency: 4 });

    const k1 = await createKey(stack, tenant.id);
    const k2 = await createKey(stack, tenant.id);
    const del = await adminFetch(stack, `/admin/tenants/${tenant.id}`, { method: "DELETE" });
    expect(del.status).toBe(200);
    expect(await json(del)).toMatchObject({ id: tenant.id, status: "disabled", disabled_at: expect.any(Number) });
    const keys = await json<{ data: ApiKey[] }>(await adminFetch(stack, `/admin/tenants/${tenant.id}/keys`));
    expect(keys.data.map((k) => [k.id, k.status]).sort()).toEqual(
      [
        [k1.id, "revoked"],
        [k2.id, "revoked"],
      ].sort(),
    );
    // A disabled tenant gets no new keys.
    expect((await adminFetch(stack, `/admin/tenants/${tenant.id}/keys`, { body: {} })).status).toBe(409);
  });

  it("an unknown tenant is a 404 in OpenAI's shape", async () => {
    const res = await adminFetch(stack, "/admin/tenants/ten_doesnotexist");
    expect(res.status).toBe(404);
    expect(await json<ErrorBody>(res)).toMatchObject({ error: { code: "not_found", type: "invalid_request_error" } });
  });

  it("pages with limit and after", async () => {
    const a = await createTenant(stack);
    const b = await createTenant(stack);
    const first = await json<{ data: Tenant[]; has_more: boolean; last_id: string }>(await adminFetch(stack, "/admin/tenants?limit=1"));
    expect(first.data.map((t) => t.id)).toEqual([b.id]);
    expect(first.has_more).toBe(true);
    const second = await json<{ data: Tenant[] }>(await adminFetch(stack, `/admin/tenants?limit=1&after=${first.last_id}`));
    expect(second.data.map((t) => t.id)).toEqual([a.id]);
  });
});

describe("keys", () => {
  it("create returns the plaintext once; list and get never do", async () => {
    const tenant = await createTenant(stack);
    const res = await adminFetch(stack, `/admin/tenants/${tenant.id}/keys`, {
      body: { name: "prod", scopes: ["chat", "embeddings"], models: ["gpt-4o*"], limits: { rpm: 10 }, budget: { monthly_usd: 3 } },
    });
    expect(res.status).toBe(201);
    expect(res.headers.get("cache-control")).toBe("no-store");
    const created = await json<ApiKey & { key: string }>(res);
    expect(created).toMatchObject({
      id: expect.stringMatching(/^key_/),
      object: "api_key",
      tenant_id: tenant.id,
      name: "prod",
      status: "active",
      scopes: ["chat", "embeddings"],
      models: ["gpt-4o*"],
      limits: { rpm: 10, tpm: null, max_concurrency: null },
      budget: { monthly_usd: 3 },
      created_by: "admin",
    });
    expect(created.key).toMatch(/^sk-dev-[A-Za-z0-9]{38}$/);
    expect(created.key.startsWith(created.prefix)).toBe(true);

    const listText = await (await adminFetch(stack, `/admin/tenants/${tenant.id}/keys`)).text();
    const getText = await (await adminFetch(stack, `/admin/keys/${created.id}`)).text();
    for (const text of [listText, getText]) {
      expect(text).toContain(created.id);
      expect(text).not.toContain(created.key);
      expect(text).not.toContain('"key":');
    }
  });

  it("defaults: every scope but keys:write, providers:write and webhooks:write, every model, no expiry", async () => {
    const { key, apiKey } = await tenantWithKey(stack);
    expect(key.scopes.sort()).toEqual(["agentic", "batch", "chat", "embeddings", "providers:read", "usage:read", "webhooks:read"]);
    expect(key.models).toBeNull();
    expect(key.expires_at).toBeNull();
    // A default key can see the tenant's providers but not add one (nor point its traffic elsewhere).
    expect((await keyFetch(apiKey, "/v1/providers")).status).toBe(200);
    const add = await keyFetch(apiKey, "/v1/providers", {
      body: { name: "mine", type: "openai-compatible", base_url: "https://api.example.com/v1", api_key: "sk-not-real-0000000000" },
    });
    expect(add.status).toBe(403);
    expect((await json<ErrorBody>(add)).error).toMatchObject({ code: "permission_denied", message: expect.stringContaining("providers:write") });
  });

  it("PATCH changes scopes, models and limits; DELETE revokes", async () => {
    const { key } = await tenantWithKey(stack, { scopes: ["chat"] });
    const res = await adminFetch(stack, `/admin/keys/${key.id}`, {
      method: "PATCH",
      body: { scopes: ["chat", "batch"], models: ["openai/*"], limits: { tpm: 500 } },
    });
    expect(res.status).toBe(200);
    expect(await json(res)).toMatchObject({ scopes: ["chat", "batch"], models: ["openai/*"], limits: { tpm: 500 } });
    const del = await adminFetch(stack, `/admin/keys/${key.id}`, { method: "DELETE" });
    expect(await json(del)).toMatchObject({ id: key.id, status: "revoked", revoked_at: expect.any(Number) });
    expect((await adminFetch(stack, `/admin/keys/${key.id}`, { method: "PATCH", body: { name: "x" } })).status).toBe(409);
  });

  it("keys of an unknown tenant, and unknown keys, are 404", async () => {
    await expectError(await adminFetch(stack, "/admin/tenants/ten_nope/keys"), 404, "not_found");
    await expectError(await adminFetch(stack, "/admin/tenants/ten_nope/keys", { body: {} }), 404, "not_found");
    await expectError(await adminFetch(stack, "/admin/keys/key_nope", { method: "DELETE" }), 404, "not_found");
    await expectError(await adminFetch(stack, "/admin/keys/key_nope/rotate", { body: {} }), 404, "not_found");
  });
});

describe("bad admin input → 400 naming the param", () => {
  const cases: [string, string, unknown, string][] = [
    ["unknown field", "/admin/tenants", { name: "x", colour: "red" }, "colour"],
    ["missing name", "/admin/tenants", {}, "name"],
    ["wrong type", "/admin/tenants", { name: 42 }, "name"],
    ["too-long name", "/admin/tenants", { name: "x".repeat(129) }, "name"],
    ["empty name", "/admin/tenants", { name: "   " }, "name"],
    ["negative limit", "/admin/tenants", { name: "x", limits: { rpm: -1 } }, "limits.rpm"],
    ["fractional limit", "/admin/tenants", { name: "x", limits: { max_concurrency: 1.5 } }, "limits.max_concurrency"],
    ["unknown limit", "/admin/tenants", { name: "x", limits: { rph: 5 } }, "limits.rph"],
    ["negative budget", "/admin/tenants", { name: "x", budget: { monthly_usd: -5 } }, "budget.monthly_usd"],
  ];
  for (const [what, path, body, param] of cases) {
    it(`${what}: ${param}`, async () => {
      const res = await adminFetch(stack, path, { body });
      expect(res.status).toBe(400);
      expect(await json<ErrorBody>(res)).toMatchObject({ error: { type: "invalid_request_error", code: "invalid_request", param } });
    });
  }

  it("key fields: unknown scope, wrong types, negative limits, past expiry, bad grace period", async () => {
    const tenant = await createTenant(stack);
    const keyCases: [unknown, string][] = [
      [{ scopes: ["chat", "admin"] }, "scopes[1]"],
      [{ scopes: "chat" }, "scopes"],
      [{ models: [""] }, "models[0]"],
      [{ models: ["has space"] }, "models[0]"],
      [{ limits: { tpm: -10 } }, "limits.tpm"],
      [{ budget: { monthly_usd: "ten" } }, "budget.monthly_usd"],
      [{ expires_at: "tomorrow" }, "expires_at"],
      [{ expires_at: Math.floor(Date.now() / 1000) - 10 }, "expires_at"],
      [{ name: "n".repeat(200) }, "name"],
      [{ owner: "me" }, "owner"],
    ];
    for (const [body, param] of keyCases) {
      const res = await adminFetch(stack, `/admin/tenants/${tenant.id}/keys`, { body });
      expect(res.status, JSON.stringify(body)).toBe(400);
      expect((await json<ErrorBody>(res)).error.param, JSON.stringify(body)).toBe(param);
    }
    const key = await createKey(stack, tenant.id);
    const patch = await adminFetch(stack, `/admin/keys/${key.id}`, { method: "PATCH", body: { limits: { rpm: 0 } } });
    expect(patch.status).toBe(400);
    expect((await json<ErrorBody>(patch)).error.param).toBe("limits.rpm");
    const rotate = await adminFetch(stack, `/admin/keys/${key.id}/rotate`, { body: { grace_period_seconds: -1 } });
    expect(rotate.status).toBe(400);
    expect((await json<ErrorBody>(rotate)).error.param).toBe("grace_period_seconds");
    const tenantPatch = await adminFetch(stack, `/admin/tenants/${tenant.id}`, { method: "PATCH", body: { status: "active" } });
    expect((await json<ErrorBody>(tenantPatch)).error.param).toBe("status");
  });

  it("a body that is not JSON is a 400 invalid_json", async () => {
    const res = await gatewayFetch(stack, "/admin/tenants", { admin: true, rawBody: "{not json", headers: { "content-type": "application/json" } });
    expect(res.status).toBe(400);
    expect((await json<ErrorBody>(res)).error.code).toBe("invalid_json");
  });
});

describe("admin token", () => {
  it("missing or wrong token → 401; an inference key cannot call /admin", async () => {
    const none = await gatewayFetch(stack, "/admin/tenants");
    expect(none.status).toBe(401);
    expect(await json<ErrorBody>(none)).toMatchObject({ error: { type: "authentication_error", code: "missing_api_key" } });
    const wrong = await gatewayFetch(stack, "/admin/tenants", { key: `${stack.adminToken}x` });
    expect(wrong.status).toBe(401);
    const { apiKey } = await tenantWithKey(stack, { scopes: ["chat", "keys:write"] });
    for (const [method, path] of [
      ["GET", "/admin/tenants"],
      ["POST", "/admin/tenants"],
      ["GET", "/admin/audit-log"],
    ] as const) {
      const res = await gatewayFetch(stack, path, {
        key: apiKey,
        method,
        rawBody: method === "POST" ? "{}" : undefined,
        headers: { "content-type": "application/json" },
      });
      expect(res.status).toBe(401);
      const body = await res.text();
      expect(body).not.toContain(apiKey);
    }
  });
});

describe("tenant self-service (/v1/keys with keys:write)", () => {
  it("creates, lists, patches, rotates and revokes its own keys, never beyond its own scopes", async () => {
    const { tenant, key: writer, apiKey } = await tenantWithKey(stack, { scopes: ["chat", "embeddings", "keys:write"], models: ["openai/*"] });
    const created = await keyFetch(apiKey, "/v1/keys", { body: { name: "ci", scopes: ["chat"] } });
    expect(created.status).toBe(201);
    const child = await json<ApiKey & { key: string }>(created);
    expect(child).toMatchObject({ tenant_id: tenant.id, scopes: ["chat"], models: ["openai/*"], created_by: `key:${writer.id}` });

    const beyond = await keyFetch(apiKey, "/v1/keys", { body: { scopes: ["chat", "batch"] } });
    expect(beyond.status).toBe(403);
    expect(await json<ErrorBody>(beyond)).toMatchObject({ error: { type: "permission_error", code: "permission_denied", param: "scopes" } });
    const wider = await keyFetch(apiKey, "/v1/keys", { body: { models: ["*"] } });
    expect(wider.status).toBe(403);
    expect((await json<ErrorBody>(wider)).error.param).toBe("models[0]");

    const list = await json<{ data: ApiKey[] }>(await keyFetch(apiKey, "/v1/keys"));
    expect(list.data.map((k) => k.id).sort()).toEqual([writer.id, child.id].sort());

    const patched = await keyFetch(apiKey, `/v1/keys/${child.id}`, { method: "PATCH", body: { name: "ci-2" } });
    expect(await json(patched)).toMatchObject({ name: "ci-2" });
    const rotated = await keyFetch(apiKey, `/v1/keys/${child.id}/rotate`, { method: "POST" });
    expect(rotated.status).toBe(200);
    expect((await json<{ key: string }>(rotated)).key).toMatch(/^sk-dev-/);
    const revoked = await keyFetch(apiKey, `/v1/keys/${child.id}`, { method: "DELETE" });
    expect(await json(revoked)).toMatchObject({ status: "revoked" });
  });

  it("a key manages only keys it could have created: a key with more budget or rpm is a 403 to rotate, revoke or patch", async () => {
    const { tenant, apiKey } = await tenantWithKey(stack, { scopes: ["chat", "keys:write"], limits: { rpm: 100 }, budget: { monthly_usd: 10 } });
    const stronger = await createKey(stack, tenant.id, { scopes: ["chat"], limits: { rpm: 100 }, budget: { monthly_usd: 100 } });
    const attempts: [string, string, unknown?][] = [
      ["DELETE", `/v1/keys/${stronger.id}`],
      ["POST", `/v1/keys/${stronger.id}/rotate`, {}],
      ["PATCH", `/v1/keys/${stronger.id}`, { budget: { monthly_usd: 1 } }],
    ];
    for (const [method, path, body] of attempts) {
      const res = await keyFetch(apiKey, path, { method, body });
      expect(res.status, `${method} ${path}`).toBe(403);
      expect((await json<ErrorBody>(res)).error).toMatchObject({ code: "permission_denied", param: "budget.monthly_usd" });
    }
    // The stronger key is untouched and still works.
    expect(await json(await adminFetch(stack, `/admin/keys/${stronger.id}`))).toMatchObject({
      status: "active",
      budget: { monthly_usd: 100 },
      prefix: stronger.prefix,
    });
    expect((await keyFetch(stronger.key, "/v1/models")).status).toBe(200);
  });

  it("the keys a key creates together hold at most its own budget and rates, even when created at once", async () => {
    const { apiKey } = await tenantWithKey(stack, { scopes: ["chat", "keys:write"], limits: { rpm: 100 }, budget: { monthly_usd: 10 } });
    const child = { scopes: ["chat"], limits: { rpm: 50 }, budget: { monthly_usd: 6 } };
    const raced = await Promise.all([keyFetch(apiKey, "/v1/keys", { body: child }), keyFetch(apiKey, "/v1/keys", { body: child })]);
    expect(raced.map((r) => r.status).sort()).toEqual([201, 403]);
    const refused = raced.find((r) => r.status === 403)!;
    expect((await json<ErrorBody>(refused)).error).toMatchObject({ type: "permission_error", code: "permission_denied", param: "budget.monthly_usd" });
    const rest = await keyFetch(apiKey, "/v1/keys", { body: { ...child, budget: { monthly_usd: 4 } } });
    expect(rest.status).toBe(201);
    const over = await keyFetch(apiKey, "/v1/keys", { body: { scopes: ["chat"], limits: { rpm: 1 }, budget: { monthly_usd: 0 } } });
    expect(over.status).toBe(403);
    expect((await json<ErrorBody>(over)).error.param).toBe("limits.rpm");
  });

  it("a tenant can never see or touch another tenant's keys: 404", async () => {
    const mine = await tenantWithKey(stack, { scopes: ["chat", "keys:write"] });
    const theirs = await tenantWithKey(stack, { scopes: ["chat"] });
    const attempts: [string, string, unknown?][] = [
      ["GET", `/v1/keys/${theirs.key.id}`],
      ["PATCH", `/v1/keys/${theirs.key.id}`, { name: "pwned" }],
      ["DELETE", `/v1/keys/${theirs.key.id}`],
      ["POST", `/v1/keys/${theirs.key.id}/rotate`, {}],
    ];
    for (const [method, path, body] of attempts) {
      const res = await keyFetch(mine.apiKey, path, { method, body });
      expect(res.status, `${method} ${path}`).toBe(404);
      expect((await json<ErrorBody>(res)).error.code).toBe("not_found");
    }
    const list = await json<{ data: ApiKey[] }>(await keyFetch(mine.apiKey, "/v1/keys"));
    expect(list.data.map((k) => k.id)).not.toContain(theirs.key.id);
    // Their key is untouched and still works for them.
    const still = await json<ApiKey>(await adminFetch(stack, `/admin/keys/${theirs.key.id}`));
    expect(still).toMatchObject({ status: "active", name: null });
  });
});

describe("audit log", () => {
  it("records every admin action with who, what, when and the request id, and no key", async () => {
    const tenant = await createTenant(stack, "audited");
    const key = await createKey(stack, tenant.id, { scopes: ["keys:write"] });
    const patch = await adminFetch(stack, `/admin/tenants/${tenant.id}`, {
      method: "PATCH",
      body: { budget: { monthly_usd: 9 } },
      headers: { "x-request-id": "req-audit-patch-1" },
    });
    await adminFetch(stack, `/admin/keys/${key.id}/rotate`, { body: {} });
    await keyFetch(key.key, "/v1/keys", { body: { name: "self-made" } });
    await adminFetch(stack, `/admin/keys/${key.id}`, { method: "DELETE" });
    await adminFetch(stack, `/admin/tenants/${tenant.id}`, { method: "DELETE" });

    const res = await adminFetch(stack, `/admin/audit-log?tenant_id=${tenant.id}&limit=100`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(text).not.toContain(key.key);
    const log = JSON.parse(text) as { data: { actor: string; action: string; at: number; request_id: string; target_id: string }[] };
    expect(log.data.map((e) => e.action)).toEqual(["tenant.disable", "key.revoke", "key.create", "key.rotate", "tenant.update", "key.create", "tenant.create"]);
    // The gateway's own id of the request, not the one the client sent.
    expect(log.data.find((e) => e.action === "tenant.update")!.request_id).toBe(patch.headers.get("x-request-id"));
    expect(patch.headers.get("x-request-id")).toMatch(/^req_/);
    expect(log.data.find((e) => e.action === "key.create" && e.actor !== "admin")!.actor).toBe(`key:${key.id}`);
    for (const e of log.data) {
      expect(e.request_id).toBeTruthy();
      expect(Math.abs(e.at - Date.now() / 1000)).toBeLessThan(120);
    }
  });
});

describe("audit log of changes made by other Workers", () => {
  type Entry = {
    actor: string;
    action: string;
    tenant_id: string | null;
    target_type: string;
    target_id: string;
    request_id: string;
    details: Record<string, unknown>;
  };
  const auditLog = async (query: string) => {
    const res = await adminFetch(stack, `/admin/audit-log?limit=100${query}`);
    expect(res.status).toBe(200);
    const text = await res.text();
    return { text, entries: (JSON.parse(text) as { data: Entry[] }).data };
  };

  it("records a tenant's provider, route and credential changes with its key as the actor, and never the credential", async () => {
    const credentials = [`sk-audit-create-${crypto.randomUUID()}`, `sk-audit-moved-${crypto.randomUUID()}`, `sk-audit-rotated-${crypto.randomUUID()}`];
    const { tenant, key, apiKey } = await tenantWithKey(stack, { scopes: ["providers:read", "providers:write"] });
    const provider = await json<{ id: string }>(
      await keyFetch(apiKey, "/v1/providers", {
        body: { name: "audited", type: "openai-compatible", base_url: "https://llm.example.com/v1?tenant=1", api_key: credentials[0] },
      }),
    );
    const moved = await keyFetch(apiKey, `/v1/providers/${provider.id}`, {
      method: "PATCH",
      body: { base_url: "https://other.example.com/v1", api_key: credentials[1] },
    });
    expect(moved.status).toBe(200);
    expect((await keyFetch(apiKey, `/v1/providers/${provider.id}/rotate`, { body: { api_key: credentials[2] } })).status).toBe(200);
    const route = await json<{ id: string }>(
      await keyFetch(apiKey, "/v1/routes", { body: { name: "audited-route", targets: [{ provider: "audited", model: "m" }] } }),
    );
    expect((await keyFetch(apiKey, `/v1/routes/${route.id}`, { method: "PATCH", body: { retries: 1 } })).status).toBe(200);
    expect((await keyFetch(apiKey, `/v1/routes/${route.id}`, { method: "DELETE" })).status).toBe(200);
    expect((await keyFetch(apiKey, `/v1/providers/${provider.id}`, { method: "DELETE" })).status).toBe(200);
    // A refused change is not a change: no row.
    expect((await keyFetch(apiKey, `/v1/providers/${provider.id}`, { method: "DELETE" })).status).toBe(404);

    const { text, entries } = await auditLog(`&tenant_id=${tenant.id}`);
    for (const credential of credentials) expect(text).not.toContain(credential);
    const changes = entries.filter((e) => e.actor !== "admin");
    expect(changes.map((e) => e.action)).toEqual([
      "provider.delete",
      "route.delete",
      "route.update",
      "route.create",
      "provider.rotate",
      "provider.update",
      "provider.create",
    ]);
    for (const e of changes) expect(e).toMatchObject({ actor: `key:${key.id}`, tenant_id: tenant.id, request_id: expect.any(String) });
    expect(changes.find((e) => e.action === "provider.update")).toMatchObject({
      target_type: "provider",
      target_id: provider.id,
      request_id: moved.headers.get("x-request-id"),
      details: { fields: ["api_key", "base_url"], upstream: "https://other.example.com", has_api_key: true },
    });
    expect(changes.find((e) => e.action === "provider.create")!.details).toMatchObject({ name: "audited", upstream: "https://llm.example.com" });
    expect(changes.find((e) => e.action === "route.create")).toMatchObject({ target_type: "route", target_id: route.id, details: { targets: ["audited/m"] } });
  });

  it("records the admin's platform provider, price and master-key changes with the admin as the actor", async () => {
    const credential = `sk-audit-platform-${crypto.randomUUID()}`;
    const model = `audit-model-${crypto.randomUUID().slice(0, 8)}`;
    const provider = await json<{ id: string }>(
      await adminFetch(stack, "/v1/providers", { body: { name: `audit-platform-${model}`, type: "groq", api_key: credential } }),
    );
    expect((await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 1.5, output_per_mtok: 2 } })).status).toBe(201);
    expect((await adminFetch(stack, `/admin/prices/${model}`, { method: "DELETE" })).status).toBe(200);
    const rewrap = await adminFetch(stack, "/admin/credentials/rewrap", { body: {} });
    expect(rewrap.status).toBe(200);
    expect((await adminFetch(stack, `/v1/providers/${provider.id}`, { method: "DELETE" })).status).toBe(200);

    const { text, entries } = await auditLog("");
    expect(text).not.toContain(credential);
    const mine = entries.filter((e) => e.target_id === provider.id || e.target_id === model || e.request_id === rewrap.headers.get("x-request-id"));
    expect(mine.map((e) => e.action)).toEqual(["provider.delete", "credentials.rewrap", "price.delete", "price.set", "provider.create"]);
    for (const e of mine) expect(e).toMatchObject({ actor: "admin", tenant_id: null });
    expect(mine.find((e) => e.action === "price.set")!.details).toMatchObject({
      input_per_mtok_micros: 1_500_000,
      output_per_mtok_micros: 2_000_000,
      created: true,
    });
    expect(mine.find((e) => e.action === "credentials.rewrap")).toMatchObject({ target_type: "credentials", details: { failed: 0, done: true } });
  });
});

describe("OpenAPI", () => {
  it("documents every admin and key route with its errors", async () => {
    const doc = await json<{
      paths: Record<string, Record<string, { responses: Record<string, unknown>; security?: unknown }>>;
      components: { securitySchemes: Record<string, unknown> };
    }>(await gatewayFetch(stack, "/openapi.json"));
    const expected: [string, string, string[]][] = [
      ["/admin/tenants", "post", ["201", "400", "401"]],
      ["/admin/tenants", "get", ["200", "401"]],
      ["/admin/tenants/{id}", "get", ["200", "401", "404"]],
      ["/admin/tenants/{id}", "patch", ["200", "400", "401", "404"]],
      ["/admin/tenants/{id}", "delete", ["200", "401", "404"]],
      ["/admin/tenants/{id}/keys", "post", ["201", "400", "401", "404", "409"]],
      ["/admin/tenants/{id}/keys", "get", ["200", "401", "404"]],
      ["/admin/keys/{id}", "get", ["200", "404"]],
      ["/admin/keys/{id}", "patch", ["200", "400", "404"]],
      ["/admin/keys/{id}", "delete", ["200", "404"]],
      ["/admin/keys/{id}/rotate", "post", ["200", "404", "409"]],
      ["/admin/audit-log", "get", ["200", "401"]],
      ["/v1/keys", "get", ["200", "401", "403"]],
      ["/v1/keys", "post", ["201", "400", "401", "403"]],
      ["/v1/keys/{id}", "patch", ["200", "400", "403", "404"]],
      ["/v1/keys/{id}", "delete", ["200", "404"]],
      ["/v1/keys/{id}/rotate", "post", ["200", "404"]],
    ];
    for (const [path, method, statuses] of expected) {
      const op = doc.paths[path]?.[method];
      expect(op, `${method} ${path}`).toBeDefined();
      expect(Object.keys(op!.responses), `${method} ${path}`).toEqual(expect.arrayContaining(statuses));
      expect(op!.security, `${method} ${path}`).toBeDefined();
    }
    expect(Object.keys(doc.components.securitySchemes)).toEqual(expect.arrayContaining(["AdminToken", "ApiKey"]));
  });
});
