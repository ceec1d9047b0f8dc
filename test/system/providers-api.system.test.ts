import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { uniqueModel } from "../support/names";
import { api, createProvider, createRoute, providerTenant, type Caller, type ProviderView } from "../support/providers";
import { dumpAllStores } from "../support/stores";
import { startStack, type Stack } from "../support/stack";
import { tenantWithKey } from "../support/tenants";
import { openaiClient } from "../support/clients";
import { gatewayFetch } from "../support/fetch";

let stack: Stack;
let upstream: FakeUpstream;
let admin: Caller;
beforeAll(async () => {
  upstream = await startFakeUpstream();
  stack = await startStack();
  admin = { token: stack.adminToken };
});
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

let n = 0;
const name = (label: string) => `${label}-${++n}`;
const ask = (client: OpenAI, model: string) => client.chat.completions.create({ model, messages: [{ role: "user", content: "hi" }] }).withResponse();

describe("a provider created through the API", () => {
  it("serves `<name>/<model>` through the openai SDK with the stored credential, and never returns it", async () => {
    const { caller, client } = await providerTenant(stack);
    const provider = await createProvider(stack, caller, { name: name("mine"), type: "openai", base_url: upstream.url, api_key: upstream.apiKey });
    expect(provider).toMatchObject({
      object: "provider",
      owner: "tenant",
      type: "openai",
      base_url: upstream.url,
      has_api_key: true,
      last4: upstream.apiKey.slice(-4),
      enabled: true,
    });
    expect(provider.rotated_at).toEqual(expect.any(Number));

    const model = uniqueModel("byok");
    const { data, response } = await ask(client, `${provider.name}/${model}`);
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(response.headers.get("x-gateway-provider")).toBe(provider.name);
    expect(response.headers.get("x-gateway-model")).toBe(model);
    expect(response.headers.get("x-gateway-attempts")).toBe("1");
    const [sent] = upstream.requests(model);
    expect(sent!.headers["authorization"]).toBe(`Bearer ${upstream.apiKey}`);
    expect(sent!.body["model"]).toBe(model);

    for (const res of [await api(stack, caller, "GET", "/v1/providers"), await api(stack, caller, "GET", `/v1/providers/${provider.id}`)]) {
      expect(res.status).toBe(200);
      const text = await res.text();
      expect(text).not.toContain(upstream.apiKey);
      expect(text).toContain(provider.id);
    }
  });

  it("leaves no plaintext credential in any KV namespace or D1 database", async () => {
    const { caller, client } = await providerTenant(stack);
    const secret = `sk-dump-check-${crypto.randomUUID()}`;
    const provider = await createProvider(stack, caller, { name: name("dump"), type: "openai-compatible", base_url: upstream.url, api_key: secret });
    await createProvider(stack, admin, { name: name("platform-dump"), type: "groq", api_key: `${secret}-platform` });
    // Use it once, so anything a request path might persist is there too.
    await ask(client, `${provider.name}/${uniqueModel("dump")}`).catch(() => null);
    const dump = await dumpAllStores(stack);
    expect(dump).toContain(provider.id);
    expect(dump).not.toContain(secret);
    expect(dump).not.toContain(secret.slice(8, -4));
  });

  it("rotates the credential: the next request uses the new one, and /test reports each", async () => {
    const { caller, client } = await providerTenant(stack);
    const provider = await createProvider(stack, caller, {
      name: name("rot"),
      type: "openai",
      base_url: upstream.url,
      api_key: upstream.apiKey,
      models: ["rot-model"],
    });
    const okReport = await (await api(stack, caller, "POST", `/v1/providers/${provider.id}/test`)).json();
    expect(okReport).toMatchObject({ object: "provider.test", id: provider.id, ok: true, model: "rot-model", reachable: true, status: 200, error: null });

    const rotated = (await (
      await api(stack, caller, "POST", `/v1/providers/${provider.id}/rotate`, { api_key: "sk-not-the-right-key-0000WXYZ" })
    ).json()) as ProviderView;
    expect(rotated).toMatchObject({ id: provider.id, last4: "WXYZ" });
    const err = await ask(client, `${provider.name}/rot-model`).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.APIError);
    expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(upstream.requests("rot-model").at(-1)!.headers["authorization"]).toBe("Bearer sk-not-the-right-key-0000WXYZ");
    const badReport = await (await api(stack, caller, "POST", `/v1/providers/${provider.id}/test`, { model: "rot-model" })).json();
    expect(badReport).toMatchObject({ ok: false, reachable: true, status: 401, error: { code: "upstream_auth_error" } });

    await api(stack, caller, "POST", `/v1/providers/${provider.id}/rotate`, { api_key: upstream.apiKey });
    const { response } = await ask(client, `${provider.name}/rot-model`);
    expect(response.status).toBe(200);
  });

  it.each<[string, number, Record<string, unknown>]>([
    ["an OpenAI-shaped 400", 400, { error: { message: "MARKER", type: "invalid_request_error", param: "model", code: null } }],
    ["a FastAPI-shaped 500", 500, { detail: "MARKER" }],
    ["a bare 422 message", 422, { message: "MARKER" }],
    ["a 429 with a message", 429, { error: { message: "MARKER" } }],
  ])("/test reports %s as a reachable status, never the upstream's answer", async (_what, status, body) => {
    const { caller } = await providerTenant(stack);
    const model = uniqueModel("probe");
    const marker = `internal-page-${crypto.randomUUID()}`;
    upstream.on(model, { error: { status, body: JSON.parse(JSON.stringify(body).replace("MARKER", marker)) as unknown } });
    const provider = await createProvider(stack, caller, {
      name: name("probe"),
      type: "openai",
      base_url: upstream.url,
      api_key: upstream.apiKey,
      models: [model],
    });
    const res = await api(stack, caller, "POST", `/v1/providers/${provider.id}/test`);
    expect(res.status).toBe(200);
    const text = await res.text();
    expect(upstream.requests(model)).toHaveLength(1);
    expect(text).not.toContain(marker);
    const report = JSON.parse(text) as { ok: boolean; reachable: boolean; status: number; error: { code: string; message: string } };
    expect(report).toMatchObject({ ok: false, reachable: true, status });
    expect(report.error.message).toContain(`HTTP ${status}`);
  });

  it("moves a provider to another host only with its credential re-entered: the stored key never reaches the new host", async () => {
    const { caller, client } = await providerTenant(stack);
    const other = await startFakeUpstream({ apiKey: "sk-other-host-provider-key-9876543210" });
    try {
      const provider = await createProvider(stack, caller, { name: name("move"), type: "openai", base_url: upstream.url, api_key: upstream.apiKey });
      for (const patch of [{ base_url: other.url }, { type: "openai-compatible", base_url: other.url }, { type: "groq", base_url: null }]) {
        const refused = await api(stack, caller, "PATCH", `/v1/providers/${provider.id}`, patch);
        expect(refused.status).toBe(400);
        expect(await refused.json()).toMatchObject({ error: { type: "invalid_request_error", code: "invalid_request", param: "api_key" } });
      }
      expect(await (await api(stack, caller, "GET", `/v1/providers/${provider.id}`)).json()).toMatchObject({ base_url: upstream.url, type: "openai" });
      const model = uniqueModel("moved");
      await ask(client, `${provider.name}/${model}`);
      expect(upstream.requests(model)).toHaveLength(1);

      const moved = await api(stack, caller, "PATCH", `/v1/providers/${provider.id}`, { base_url: other.url, api_key: other.apiKey });
      expect(moved.status).toBe(200);
      expect(await moved.json()).toMatchObject({ base_url: other.url, last4: other.apiKey.slice(-4), has_api_key: true });
      const { response } = await ask(client, `${provider.name}/${model}`);
      expect(response.status).toBe(200);
      expect(upstream.requests(model)).toHaveLength(1);
      expect(other.requests(model).map((r) => r.headers["authorization"])).toEqual([`Bearer ${other.apiKey}`]);
    } finally {
      await other.close();
    }
  });

  it("updates with PATCH (a credential alone replaces it), and deletes (then the name is unknown)", async () => {
    const { caller, client } = await providerTenant(stack);
    const provider = await createProvider(stack, caller, { name: name("patch"), type: "openai", base_url: upstream.url, api_key: upstream.apiKey });
    const patched = await api(stack, caller, "PATCH", `/v1/providers/${provider.id}`, { models: ["only-this"], headers: { "X-Title": "gw" } });
    expect(await patched.json()).toMatchObject({ models: ["only-this"], headers: { "X-Title": "gw" } });
    const notListed = await ask(client, `${provider.name}/${uniqueModel("other")}`).catch((e: unknown) => e);
    expect((notListed as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
    await ask(client, `${provider.name}/only-this`);
    expect(upstream.requests("only-this").at(-1)!.headers["x-title"]).toBe("gw");

    const withKey = await api(stack, caller, "PATCH", `/v1/providers/${provider.id}`, { api_key: "sk-replaced-by-patch-0000PTCH" });
    expect(withKey.status).toBe(200);
    expect(await withKey.json()).toMatchObject({ last4: "PTCH", base_url: upstream.url });
    await api(stack, caller, "PATCH", `/v1/providers/${provider.id}`, { api_key: upstream.apiKey });

    const disabled = await api(stack, caller, "PATCH", `/v1/providers/${provider.id}`, { enabled: false });
    expect(await disabled.json()).toMatchObject({ enabled: false });
    expect(((await ask(client, `${provider.name}/only-this`).catch((e: unknown) => e)) as InstanceType<typeof OpenAI.APIError>).status).toBe(404);

    const deleted = await api(stack, caller, "DELETE", `/v1/providers/${provider.id}`);
    expect(await deleted.json()).toEqual({ id: provider.id, object: "provider", deleted: true });
    expect((await api(stack, caller, "GET", `/v1/providers/${provider.id}`)).status).toBe(404);
  });

  it.each<[string, Record<string, unknown>, number, string | null]>([
    ["a missing credential", { type: "openai" }, 400, "api_key"],
    ["a name with a slash", { name: "a/b", type: "openai", api_key: "k" }, 400, "name"],
    ["an unknown type", { type: "nope", api_key: "k" }, 400, "type"],
    ["openai-compatible without base_url", { type: "openai-compatible" }, 400, "base_url"],
    ["a credential in headers", { type: "openai", api_key: "k", headers: { Authorization: "Bearer x" } }, 400, "headers.Authorization"],
    ["an unknown field", { type: "openai", api_key: "k", colour: "blue" }, 400, "colour"],
  ])("refuses %s with %i naming the param", async (_what, body, status, param) => {
    const res = await api(stack, admin, "POST", "/v1/providers", { name: name("bad"), ...body });
    expect(res.status).toBe(status);
    expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error", param } });
  });

  it("refuses a duplicate name with 409, and callers without the right credentials", async () => {
    const { caller } = await providerTenant(stack);
    const body = { name: name("dup"), type: "openai", api_key: "sk-dup-0000000000000000" };
    await createProvider(stack, caller, body);
    const dup = await api(stack, caller, "POST", "/v1/providers", body);
    expect(dup.status).toBe(409);
    expect(await dup.json()).toMatchObject({ error: { code: "conflict", param: "name" } });

    const { apiKey: chatOnly } = await tenantWithKey(stack, { scopes: ["chat"] });
    expect((await api(stack, { token: chatOnly }, "GET", "/v1/providers")).status).toBe(403);
    const { apiKey: readOnly } = await tenantWithKey(stack, { scopes: ["chat", "providers:read"] });
    expect((await api(stack, { token: readOnly }, "GET", "/v1/providers")).status).toBe(200);
    expect((await api(stack, { token: readOnly }, "POST", "/v1/providers", body)).status).toBe(403);
    expect((await gatewayFetch(stack, "/v1/providers")).status).toBe(401);
    expect((await api(stack, { token: "adm_wrong" }, "GET", "/v1/providers")).status).toBe(401);
  });
});

describe("platform providers and tenants' own", () => {
  it("serves every tenant from a platform provider, lists it only to the admin, and lets a tenant's own provider of the same name win for that tenant", async () => {
    const shared = name("shared");
    // The platform's provider carries a key the upstream refuses; tenant A brings a working one.
    await createProvider(stack, admin, { name: shared, type: "openai", base_url: upstream.url, api_key: "sk-platform-key-the-upstream-refuses" });
    const a = await providerTenant(stack);
    const b = await providerTenant(stack);
    await createProvider(stack, a.caller, { name: shared, type: "openai", base_url: upstream.url, api_key: upstream.apiKey });

    const model = uniqueModel("precedence");
    const { response } = await ask(a.client, `${shared}/${model}`);
    expect(response.status).toBe(200);
    const refused = await ask(b.client, `${shared}/${model}`).catch((e: unknown) => e);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(upstream.requests(model).map((r) => r.headers["authorization"])).toEqual([
      `Bearer ${upstream.apiKey}`,
      "Bearer sk-platform-key-the-upstream-refuses",
    ]);

    const platformList = (await (await api(stack, admin, "GET", "/v1/providers")).json()) as { data: ProviderView[] };
    expect(platformList.data.filter((p) => p.name === shared).map((p) => p.owner)).toEqual(["platform"]);
    const bList = (await (await api(stack, b.caller, "GET", "/v1/providers")).json()) as { data: ProviderView[] };
    expect(bList.data).toEqual([]);
  });
});

describe("tenant isolation", () => {
  it("makes tenant A's providers and routes 404 to tenant B, and never serves B's requests with them", async () => {
    const a = await providerTenant(stack);
    const b = await providerTenant(stack);
    const provider = await createProvider(stack, a.caller, { name: name("private"), type: "openai", base_url: upstream.url, api_key: upstream.apiKey });
    const model = uniqueModel("isolated");
    const route = await createRoute(stack, a.caller, { name: `alias-${model}`, targets: [{ provider: provider.name, model }] });
    await ask(a.client, route.name);
    expect(upstream.requests(model)).toHaveLength(1);

    for (const [method, path, body] of [
      ["GET", `/v1/providers/${provider.id}`],
      ["PATCH", `/v1/providers/${provider.id}`, { enabled: false }],
      ["POST", `/v1/providers/${provider.id}/rotate`, { api_key: "sk-hijack-000000000000" }],
      ["POST", `/v1/providers/${provider.id}/test`, { model }],
      ["DELETE", `/v1/providers/${provider.id}`],
      ["GET", `/v1/routes/${route.id}`],
      ["PATCH", `/v1/routes/${route.id}`, { enabled: false }],
      ["DELETE", `/v1/routes/${route.id}`],
    ] as [string, string, unknown?][]) {
      const res = await api(stack, b.caller, method, path, body);
      expect(res.status, `${method} ${path}`).toBe(404);
    }
    for (const asked of [`${provider.name}/${model}`, route.name]) {
      const err = await ask(b.client, asked).catch((e: unknown) => e);
      expect((err as InstanceType<typeof OpenAI.APIError>).status).toBe(404);
      expect((err as InstanceType<typeof OpenAI.APIError>).code).toBe("model_not_found");
    }
    // B's route cannot target A's provider either.
    const foreignTarget = await api(stack, b.caller, "POST", "/v1/routes", { name: `b-${model}`, targets: [{ provider: provider.name, model }] });
    expect(foreignTarget.status).toBe(400);
    expect(await foreignTarget.json()).toMatchObject({ error: { param: "targets[0].provider" } });
    expect(upstream.requests(model)).toHaveLength(1);

    // And A's provider is untouched.
    expect(await (await api(stack, a.caller, "GET", `/v1/providers/${provider.id}`)).json()).toMatchObject({ enabled: true, last4: upstream.apiKey.slice(-4) });
    await ask(a.client, route.name);
    expect(upstream.requests(model)).toHaveLength(2);
  });
});

describe("a key's model allow-list", () => {
  it("applies to what a route resolves to: a key cannot reach a model outside its globs through a route it created", async () => {
    const cheap = uniqueModel("cheap");
    const pricey = uniqueModel("pricey");
    const providerName = name("allow");
    // The key may use route names `alias-*` and one pinned cheap model; it manages its tenant's routes itself.
    const { apiKey } = await tenantWithKey(stack, { scopes: ["chat", "providers:read", "providers:write"], models: ["alias-*", `${providerName}/${cheap}`] });
    const caller = { token: apiKey };
    const client = openaiClient(stack, apiKey);
    await createProvider(stack, caller, { name: providerName, type: "openai", base_url: upstream.url, api_key: upstream.apiKey, models: [cheap, pricey] });
    const toPricey = await createRoute(stack, caller, { name: name("alias-pricey"), targets: [{ provider: providerName, model: pricey }] });
    const mixed = await createRoute(stack, caller, {
      name: name("alias-mixed"),
      targets: [
        { provider: providerName, model: pricey },
        { provider: providerName, model: cheap },
      ],
    });

    const refused = await ask(client, toPricey.name).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).error).toMatchObject({ type: "permission_error", code: "model_not_allowed", param: "model" });
    expect((refused as Error).message).toContain(toPricey.name);

    // A route with a usable target is served by it alone: the other target is skipped, not tried.
    const { response } = await ask(client, mixed.name);
    expect(response.headers.get("x-gateway-model")).toBe(cheap);
    expect(response.headers.get("x-gateway-attempts")).toBe("1");
    expect(upstream.requests(cheap)).toHaveLength(1);
    expect(upstream.requests(pricey)).toHaveLength(0);
  });
});

describe("models", () => {
  it("lists a tenant's own provider models and routes in GET /v1/models", async () => {
    const { caller, client } = await providerTenant(stack);
    const provider = await createProvider(stack, caller, {
      name: name("listed"),
      type: "openai",
      base_url: upstream.url,
      api_key: upstream.apiKey,
      models: ["listed-a"],
    });
    const route = await createRoute(stack, caller, { name: name("listed-alias"), targets: [{ provider: provider.name, model: "listed-a" }] });
    const ids = (await client.models.list()).data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining([`${provider.name}/listed-a`, route.name]));
  });
});
