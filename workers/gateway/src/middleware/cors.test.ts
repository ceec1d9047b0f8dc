import { env, exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { createApp } from "../app";

const worker = exports as unknown as { default: Fetcher };
const gatewayEnv = env as unknown as GatewayEnv;
const preflight = (origin: string, headers = "authorization, content-type") => ({
  method: "OPTIONS",
  headers: { origin, "access-control-request-method": "POST", "access-control-request-headers": headers },
});

describe("CORS off by default (the gateway's wrangler.toml)", () => {
  it("sets no CORS header on a preflight or an answer, whatever the origin", async () => {
    expect(gatewayEnv.CORS_ALLOWED_ORIGINS).toBe("");
    const pre = await worker.default.fetch("http://gateway/v1/chat/completions", preflight("https://app.example.com"));
    // As without CORS: the route's authentication answers (a browser reads this as a failed preflight).
    expect(pre.status).toBe(401);
    expect(pre.headers.get("access-control-allow-origin")).toBeNull();
    expect(((await pre.json()) as { error: { code: string } }).error.code).toBe("missing_api_key");
    const res = await worker.default.fetch("http://gateway/health", { headers: { origin: "https://app.example.com" } });
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-expose-headers")).toBeNull();
  });
});

describe("CORS with CORS_ALLOWED_ORIGINS", () => {
  const app = createApp();
  const withOrigins = { ...gatewayEnv, CORS_ALLOWED_ORIGINS: " https://app.example.com , https://Console.Example.com/" };

  it("answers a listed origin's preflight before authentication, allowing the SDK headers it asks for and no others", async () => {
    const res = await app.request(
      "/v1/messages",
      preflight("https://console.example.com", "x-api-key, anthropic-version, x-stainless-os, x-stainless-retry-count, content-type, x-evil, cookie"),
      withOrigins,
    );
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://console.example.com");
    expect(res.headers.get("access-control-allow-methods")).toBe("GET, POST, PATCH, PUT, DELETE, OPTIONS");
    expect(res.headers.get("access-control-allow-headers")).toBe("x-api-key, anthropic-version, x-stainless-os, x-stainless-retry-count, content-type");
    expect(res.headers.get("access-control-max-age")).toBe("600");
    expect(res.headers.get("vary")).toContain("Origin");
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
  });

  it("refuses another origin's preflight with 403 in the error shape, without CORS headers", async () => {
    const res = await app.request("/v1/chat/completions", preflight("https://evil.example"), withOrigins);
    expect(res.status).toBe(403);
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(await res.json()).toEqual({
      error: {
        message: "Origin 'https://evil.example' may not call this API from a browser (CORS).",
        type: "permission_error",
        param: null,
        code: "permission_denied",
      },
    });
  });

  it("gives a listed origin's actual answers (errors too) the origin and the readable ids; other origins nothing", async () => {
    const denied = await app.request("/v1/models", { headers: { origin: "https://app.example.com" } }, withOrigins);
    expect(denied.status).toBe(401);
    expect(denied.headers.get("access-control-allow-origin")).toBe("https://app.example.com");
    expect(denied.headers.get("access-control-expose-headers")).toBe("x-request-id, x-gateway-request-id, x-client-request-id");
    expect(((await denied.json()) as { error: { code: string } }).error.code).toBe("missing_api_key");

    const other = await app.request("/v1/models", { headers: { origin: "https://evil.example" } }, withOrigins);
    expect(other.status).toBe(401);
    expect(other.headers.get("access-control-allow-origin")).toBeNull();
    expect(other.headers.get("access-control-expose-headers")).toBeNull();
  });
});

describe("CORS with CORS_TENANT_ORIGINS (per-tenant mode)", () => {
  const app = createApp();
  const perTenant = { ...gatewayEnv, CORS_TENANT_ORIGINS: "true" };

  it("is off in the gateway's wrangler.toml", () => {
    expect(gatewayEnv.CORS_TENANT_ORIGINS).toBe("false");
  });

  it("answers any origin's preflight before authentication (no key yet: the tenant is unknown), naming it, without credentials", async () => {
    const res = await app.request("/v1/chat/completions", preflight("https://anyone.example"), perTenant);
    expect(res.status).toBe(204);
    expect(res.headers.get("access-control-allow-origin")).toBe("https://anyone.example");
    expect(res.headers.get("access-control-allow-credentials")).toBeNull();
    expect(res.headers.get("access-control-allow-headers")).toBe("authorization, content-type");
    expect(res.headers.get("vary")).toContain("Origin");
  });

  it("gives an answer refused before the key is known no CORS header (the key's tenant decides), but varies it by Origin", async () => {
    const res = await app.request("/v1/models", { headers: { origin: "https://anyone.example" } }, perTenant);
    expect(res.status).toBe(401);
    expect(((await res.json()) as { error: { code: string } }).error.code).toBe("missing_api_key");
    expect(res.headers.get("access-control-allow-origin")).toBeNull();
    expect(res.headers.get("access-control-expose-headers")).toBeNull();
    expect(res.headers.get("vary")).toContain("Origin");
  });
});
