import { env as workerEnv } from "cloudflare:workers";
import { Hono } from "hono";
import { beforeEach, describe, expect, it, vi } from "vitest";
import { generateApiKey, type Principal, type Result } from "../../../shared/src";
import type { GatewayBindings } from "../types";
import { adminTokenAuth } from "./admin-token";
import { apiKeyAuth, evictCachedPrincipals, PRINCIPAL_CACHE_TTL_MS } from "./api-key";
import { onError } from "./errors";

/** The middleware against a stand-in auth service, counting how often the hot path reaches it. */
function principal(over: Partial<Principal> = {}): Principal {
  return {
    tenantId: "ten_a",
    keyId: "key_a",
    scopes: ["chat"],
    models: null,
    keyLimits: {},
    tenantLimits: {},
    tenantCorsOrigins: [],
    keyBudget: {},
    tenantBudget: {},
    token: "tok",
    tokenExpiresAt: Date.now() + 300_000,
    keyExpiresAt: null,
    ...over,
  };
}

function harness(answer: (key: string) => Result<Principal>) {
  const authenticate = vi.fn(async (key: string) => answer(key));
  const app = new Hono<GatewayBindings>();
  app.use("*", async (c, next) => {
    c.set("requestId", "req_unit_test");
    await next();
  });
  app.onError(onError);
  app.use("/v1/*", apiKeyAuth());
  app.get("/v1/whoami", (c) => c.json({ keyId: c.get("principal").keyId }));
  app.use("/admin/*", adminTokenAuth());
  app.get("/admin/ping", (c) => c.text("pong"));
  const env = {
    AUTH: { authenticate },
    ADMIN_TOKEN: "adm_secret_token",
    GATEWAY_SIGNING_JWK: (workerEnv as unknown as GatewayEnv).GATEWAY_SIGNING_JWK,
  } as unknown as GatewayEnv;
  const call = (path: string, headers: Record<string, string> = {}) => app.request(path, { headers }, env);
  return { authenticate, call };
}

beforeEach(() => {
  vi.useRealTimers();
  evictCachedPrincipals({ tenantId: "ten_a" });
  evictCachedPrincipals({ tenantId: "ten_b" });
});

describe("apiKeyAuth", () => {
  it("authenticates once, then serves the principal from isolate memory", async () => {
    const key = generateApiKey("dev");
    const h = harness(() => ({ ok: true, value: principal() }));
    for (let i = 0; i < 3; i++) {
      const res = await h.call("/v1/whoami", { authorization: `Bearer ${key}` });
      expect(res.status).toBe(200);
      expect(await res.json()).toEqual({ keyId: "key_a" });
    }
    expect(h.authenticate).toHaveBeenCalledTimes(1);
  });

  it("re-authenticates after the cache TTL", async () => {
    vi.useFakeTimers({ now: Date.now() });
    const key = generateApiKey("dev");
    const h = harness(() => ({ ok: true, value: principal({ tokenExpiresAt: Date.now() + 300_000 }) }));
    await h.call("/v1/whoami", { authorization: `Bearer ${key}` });
    vi.advanceTimersByTime(PRINCIPAL_CACHE_TTL_MS + 1);
    await h.call("/v1/whoami", { authorization: `Bearer ${key}` });
    expect(h.authenticate).toHaveBeenCalledTimes(2);
  });

  it("never serves a cached principal past the key's expiry", async () => {
    vi.useFakeTimers({ now: Date.now() });
    const key = generateApiKey("dev");
    let expired = false;
    const h = harness(() =>
      expired
        ? { ok: false, error: { code: "invalid_api_key", message: "This API key has expired." } }
        : { ok: true, value: principal({ keyExpiresAt: Date.now() + 1000 }) },
    );
    expect((await h.call("/v1/whoami", { authorization: `Bearer ${key}` })).status).toBe(200);
    vi.advanceTimersByTime(1001);
    expired = true;
    const refused = await h.call("/v1/whoami", { authorization: `Bearer ${key}` });
    expect(refused.status).toBe(401);
    expect(await refused.json()).toMatchObject({ error: { code: "invalid_api_key", message: expect.stringContaining("expired") } });
  });

  it("evicting a key or a tenant makes the next request ask auth again", async () => {
    const key = generateApiKey("dev");
    let revoked = false;
    const h = harness(() =>
      revoked ? { ok: false, error: { code: "invalid_api_key", message: "This API key has been revoked." } } : { ok: true, value: principal() },
    );
    expect((await h.call("/v1/whoami", { authorization: `Bearer ${key}` })).status).toBe(200);
    revoked = true;
    evictCachedPrincipals({ keyId: "key_a" });
    const res = await h.call("/v1/whoami", { authorization: `Bearer ${key}` });
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { code: "invalid_api_key", type: "authentication_error" } });
  });

  it("rejects missing, malformed and mistyped keys without calling auth", async () => {
    const h = harness(() => ({ ok: true, value: principal() }));
    const key = generateApiKey("dev");
    const typo = key.slice(0, 10) + (key[10] === "a" ? "b" : "a") + key.slice(11);
    const missing = await h.call("/v1/whoami");
    expect(missing.status).toBe(401);
    expect(await missing.json()).toMatchObject({ error: { code: "missing_api_key" } });
    for (const bad of ["Bearer nope", `Bearer ${typo}`, "Bearer  ", `Basic ${btoa("a:b")}`]) {
      expect((await h.call("/v1/whoami", { authorization: bad })).status).toBe(401);
    }
    expect(h.authenticate).not.toHaveBeenCalled();
  });

  it("accepts x-api-key, and an auth outage is a 503, not a 401", async () => {
    const key = generateApiKey("dev");
    const ok = harness(() => ({ ok: true, value: principal({ keyId: "key_x", tenantId: "ten_b" }) }));
    expect(await (await ok.call("/v1/whoami", { "x-api-key": key })).json()).toEqual({ keyId: "key_x" });
    const down = harness(() => {
      throw new Error("binding down");
    });
    const res = await down.call("/v1/whoami", { authorization: `Bearer ${generateApiKey("dev")}` });
    expect(res.status).toBe(503);
  });
});

describe("adminTokenAuth", () => {
  it("lets the admin token through and refuses anything else with 401", async () => {
    const h = harness(() => ({ ok: true, value: principal() }));
    expect((await h.call("/admin/ping", { authorization: "Bearer adm_secret_token" })).status).toBe(200);
    expect((await h.call("/admin/ping", { authorization: "Bearer adm_secret_tokeN" })).status).toBe(401);
    expect((await h.call("/admin/ping", { authorization: "Bearer adm_secret_token_longer" })).status).toBe(401);
    expect((await h.call("/admin/ping")).status).toBe(401);
    const withKey = await h.call("/admin/ping", { authorization: `Bearer ${generateApiKey("dev")}` });
    expect(withKey.status).toBe(401);
    expect((await withKey.json()) as object).toMatchObject({ error: { message: expect.stringContaining("API keys cannot call /admin") } });
  });
});
