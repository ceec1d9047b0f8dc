import { beforeAll, describe, expect, it } from "vitest";
import type { PrincipalClaims } from "../../../shared/src";
import type { ProviderConfig } from "../providers/types";
import { ConfigCache } from "./config-cache";
import { CredentialCache } from "./credentials";
import { ProviderAdmin } from "./providers-admin";
import { PLATFORM } from "./records";
import { StoredRegistry } from "./registry";
import { RouteAdmin } from "./routes-admin";
import { fakeSecrets, migrated } from "./test-support";

let db: D1Database;
beforeAll(async () => {
  db = await migrated();
});

const policy = { allowPrivate: false };
let n = 0;

/** A platform and two tenants with providers and routes, and a registry over them. */
async function world(configured: ReadonlyMap<string, ProviderConfig> = new Map()) {
  const tag = ++n;
  const cache = new ConfigCache();
  const { secrets } = fakeSecrets();
  const providers = new ProviderAdmin({ db, secrets, policy, cache, credentials: new CredentialCache() });
  const routes = new RouteAdmin({ db, cache, configured });
  const platform = `${PLATFORM}`;
  const a = `ten_a_${tag}`;
  const b = `ten_b_${tag}`;
  const mk = async (o: string, body: Record<string, unknown>) => {
    const r = await providers.create(o, { type: "openai", api_key: "sk-0000000000000000", ...body });
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  const route = async (o: string, body: Record<string, unknown>) => {
    const r = await routes.create(o, body);
    if (!r.ok) throw new Error(r.error.message);
    return r.value;
  };
  const registry = new StoredRegistry({ db, cache, policy, configured, background: () => {} });
  const claims = (tenantId: string): PrincipalClaims => ({ tenantId, keyId: "key", scopes: ["chat"] });
  return { tag, platform, a, b, mk, route, routes, providers, registry, claims, cache };
}

const targetsOf = async (w: Awaited<ReturnType<typeof world>>, model: string, tenant: string, op: "chat" | "embeddings" = "chat") => {
  const r = await w.registry.resolve(model, op, w.claims(tenant));
  return r.ok ? r.value.targets.map((t) => `${t.provider.name}:${t.provider.id.slice(0, 4)}:${t.model}`) : r.error.code;
};

describe("StoredRegistry", () => {
  it("resolves `<provider>/<model>` to the tenant's own provider first, else the platform's", async () => {
    const w = await world();
    const shared = `shared${w.tag}`;
    await w.mk(PLATFORM, { name: shared });
    await w.mk(w.a, { name: shared });
    expect(await targetsOf(w, `${shared}/gpt-4o`, w.a)).toEqual([`${shared}:prv_:gpt-4o`]);
    const forA = await w.registry.resolve(`${shared}/gpt-4o`, "chat", w.claims(w.a));
    const forB = await w.registry.resolve(`${shared}/gpt-4o`, "chat", w.claims(w.b));
    expect(forA.ok && forB.ok && forA.value.targets[0]!.provider.id !== forB.value.targets[0]!.provider.id).toBe(true);
  });

  it("a provider's models are an allow-list: another model of it is a 404 naming what it serves (at most 10)", async () => {
    const w = await world();
    const p = await w.mk(w.a, { name: `listed${w.tag}`, models: ["m1", "m2"] });
    expect(await w.registry.resolve(`${p.name}/m3`, "chat", w.claims(w.a))).toEqual({
      ok: false,
      error: {
        code: "model_not_found",
        param: "model",
        message: `The model '${p.name}/m3' does not exist or you do not have access to it: provider '${p.name}' serves only: 'm1', 'm2'.`,
      },
    });
    const many = await w.mk(w.a, { name: `many${w.tag}`, models: Array.from({ length: 12 }, (_, i) => `m${i}`) });
    const r = await w.registry.resolve(`${many.name}/other`, "chat", w.claims(w.a));
    expect(!r.ok && r.error.message).toBe(
      `The model '${many.name}/other' does not exist or you do not have access to it: provider '${many.name}' serves only: ` +
        `'m0', 'm1', 'm2', 'm3', 'm4', 'm5', 'm6', 'm7', 'm8', 'm9' and 2 more (GET /v1/models lists them all).`,
    );
    expect(await targetsOf(w, `${p.name}/m2`, w.a)).toEqual([`${p.name}:prv_:m2`]);
  });

  it("never resolves another tenant's provider or route", async () => {
    const w = await world();
    const p = await w.mk(w.a, { name: `private${w.tag}` });
    await w.route(w.a, { name: `alias${w.tag}`, targets: [{ provider: p.name, model: "m" }] });
    expect(await targetsOf(w, `${p.name}/m`, w.b)).toBe("model_not_found");
    expect(await targetsOf(w, `alias${w.tag}`, w.b)).toBe("model_not_found");
    expect(await targetsOf(w, `alias${w.tag}`, w.a)).toEqual([`${p.name}:prv_:m`]);
  });

  it("takes a tenant's route over a platform route of the same name, and a platform route over a bare model", async () => {
    const w = await world();
    const pp = await w.mk(PLATFORM, { name: `pp${w.tag}`, models: ["bare-model", "m"] });
    const tp = await w.mk(w.a, { name: `tp${w.tag}` });
    await w.route(PLATFORM, { name: `gpt${w.tag}`, targets: [{ provider: pp.name, model: "m" }] });
    await w.route(w.a, { name: `gpt${w.tag}`, targets: [{ provider: tp.name, model: "m" }] });
    expect(await targetsOf(w, `gpt${w.tag}`, w.a)).toEqual([`${tp.name}:prv_:m`]);
    expect(await targetsOf(w, `gpt${w.tag}`, w.b)).toEqual([`${pp.name}:prv_:m`]);
    expect(await targetsOf(w, "bare-model", w.b)).toContain(`${pp.name}:prv_:bare-model`);
  });

  it("says whose configuration each target is: a tenant's own provider and route name the tenant, the platform's none (circuits are scoped by it)", async () => {
    const w = await world();
    const shared = await w.mk(PLATFORM, { name: `plat${w.tag}` });
    const own = await w.mk(w.a, { name: `own${w.tag}` });
    const targets = [
      { provider: shared.name, model: "m" },
      { provider: own.name, model: "m" },
    ];
    await w.route(w.a, { name: `tr${w.tag}`, targets });
    await w.route(PLATFORM, { name: `pr${w.tag}`, targets: [targets[0]] });
    const tenantRoute = await w.registry.resolve(`tr${w.tag}`, "chat", w.claims(w.a));
    expect(tenantRoute.ok && { route: tenantRoute.value.routeTenant, targets: tenantRoute.value.targets.map((t) => t.tenant ?? null) }).toEqual({
      route: w.a,
      targets: [null, w.a],
    });
    const platformRoute = await w.registry.resolve(`pr${w.tag}`, "chat", w.claims(w.a));
    expect(platformRoute.ok && { route: platformRoute.value.routeTenant ?? null, targets: platformRoute.value.targets.map((t) => t.tenant ?? null) }).toEqual({
      route: null,
      targets: [null],
    });
  });

  it("carries a route's strategy, retries, timeout and weights, and skips disabled or missing targets", async () => {
    const w = await world();
    const x = await w.mk(w.a, { name: `x${w.tag}` });
    const y = await w.mk(w.a, { name: `y${w.tag}` });
    await w.route(w.a, {
      name: `r${w.tag}`,
      strategy: "weighted",
      retries: 2,
      timeout_ms: 1500,
      targets: [
        { provider: x.name, model: "m", weight: 3 },
        { provider: y.name, model: "m" },
      ],
    });
    const r = await w.registry.resolve(`r${w.tag}`, "chat", w.claims(w.a));
    expect(
      r.ok && { strategy: r.value.strategy, retries: r.value.retriesPerTarget, timeout: r.value.timeoutMs, weights: r.value.targets.map((t) => t.weight) },
    ).toEqual({
      strategy: "weighted",
      retries: 2,
      timeout: 1500,
      weights: [3, 1],
    });
    await w.providers.update(w.a, x.id, { enabled: false });
    expect(await targetsOf(w, `r${w.tag}`, w.a)).toEqual([`${y.name}:prv_:m`]);
    await w.providers.delete(w.a, y.id);
    expect(await targetsOf(w, `r${w.tag}`, w.a)).toBe("model_not_found");
  });

  it("hands adapters the credential by reference and the SSRF policy, never the plaintext", async () => {
    const w = await world();
    const p = await w.mk(w.a, { name: `ref${w.tag}` });
    const r = await w.registry.resolve(`${p.name}/m`, "chat", w.claims(w.a));
    const provider = r.ok ? r.value.targets[0]!.provider : null;
    expect(provider).toMatchObject({ apiKey: "", credential: { ref: expect.stringMatching(/^cred_/) }, upstreamPolicy: policy });
  });

  it("refuses an operation no target supports", async () => {
    const w = await world();
    const p = await w.mk(w.a, { name: `groq${w.tag}`, type: "groq" });
    expect(await targetsOf(w, `${p.name}/m`, w.a, "embeddings")).toBe("invalid_request");
  });

  it("serves PLATFORM_PROVIDERS too, with the API's platform providers winning on a name clash", async () => {
    const configured = new Map<string, ProviderConfig>([
      [
        "static",
        {
          id: "platform:static",
          name: "static",
          type: "openai",
          baseUrl: "https://static.example.com/v1",
          apiKey: "sk-static",
          headers: {},
          timeoutMs: 1000,
          models: null,
        },
      ],
    ]);
    const w = await world(configured);
    const r = await w.registry.resolve("static/m", "chat", w.claims(w.a));
    expect(r.ok && r.value.targets[0]!.provider).toMatchObject({ id: "platform:static", apiKey: "sk-static", upstreamPolicy: policy });
    expect(await w.route(w.a, { name: `to-static${w.tag}`, targets: [{ provider: "static", model: "m" }] })).toMatchObject({ object: "route" });
  });

  it("lists the tenant's routes and provider models with the platform's, without another tenant's", async () => {
    const w = await world();
    await w.mk(w.a, { name: `la${w.tag}`, models: ["only-a"] });
    await w.mk(PLATFORM, { name: `lp${w.tag}`, models: ["everyone"] });
    const idsA = (await w.registry.list(w.claims(w.a))).map((m) => m.id);
    const idsB = (await w.registry.list(w.claims(w.b))).map((m) => m.id);
    expect(idsA).toEqual(expect.arrayContaining([`la${w.tag}/only-a`, "only-a", `lp${w.tag}/everyone`, "everyone"]));
    expect(idsB).toEqual(expect.arrayContaining([`lp${w.tag}/everyone`]));
    expect(idsB).not.toContain("only-a");
  });
});

describe("RouteAdmin", () => {
  it("checks targets: a provider the owner can use, and one of its listed models", async () => {
    const w = await world();
    const tenantOwn = await w.mk(w.a, { name: `own${w.tag}`, models: ["m1"] });
    const platform = await w.mk(PLATFORM, { name: `plat${w.tag}` });
    expect(
      await w.routes.create(w.a, {
        name: "ok",
        targets: [
          { provider: tenantOwn.name, model: "m1" },
          { provider: platform.name, model: "any" },
        ],
      }),
    ).toMatchObject({ ok: true });
    expect(await w.routes.create(w.a, { name: "bad-model", targets: [{ provider: tenantOwn.name, model: "m2" }] })).toMatchObject({
      ok: false,
      error: { param: "targets[0].model" },
    });
    expect(await w.routes.create(w.b, { name: "foreign", targets: [{ provider: tenantOwn.name, model: "m1" }] })).toMatchObject({
      ok: false,
      error: { param: "targets[0].provider" },
    });
    expect(await w.routes.create(PLATFORM, { name: `plat-to-tenant${w.tag}`, targets: [{ provider: tenantOwn.name, model: "m1" }] })).toMatchObject({
      ok: false,
      error: { param: "targets[0].provider" },
    });
    expect(await w.routes.create(w.a, { name: "ok", targets: [{ provider: platform.name, model: "m" }] })).toMatchObject({
      ok: false,
      error: { code: "conflict" },
    });
    expect(await w.routes.create(w.a, { name: "empty", targets: [] })).toMatchObject({ ok: false, error: { param: "targets" } });
  });
});
