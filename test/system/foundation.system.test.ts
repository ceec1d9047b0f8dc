import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startStack, type Stack } from "../support/stack";
import { gatewayFetch } from "../support/fetch";

let stack: Stack;
beforeAll(async () => {
  stack = await startStack();
});
afterAll(() => stack?.close());

describe("health", () => {
  it("the admin token gets all seven services and their stores, checked now", async () => {
    const res = await gatewayFetch(stack, "/health", { admin: true });
    expect(res.status).toBe(200);
    expect(res.headers.get("cache-control")).toBe("no-store");
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    const body = (await res.json()) as { status: string; failed: string[]; services: Record<string, { ok: boolean; checks: Record<string, { ok: boolean }> }> };
    expect(body.status).toBe("ok");
    expect(body.failed).toEqual([]);
    expect(Object.keys(body.services).sort()).toEqual(["auth", "billing", "gateway", "model-proxy", "rate-limiter", "secrets", "tail"]);
    expect(Object.keys(body.services["tail"]!.checks)).toEqual(expect.arrayContaining(["d1", "r2", "durable_object", "queue_batch_requests"]));
    expect(Object.keys(body.services["auth"]!.checks)).toEqual(expect.arrayContaining(["d1", "kv"]));
    expect(Object.keys(body.services["secrets"]!.checks)).toEqual(expect.arrayContaining(["kv"]));
    expect(Object.keys(body.services["rate-limiter"]!.checks)).toEqual(["durable_object"]);
  });

  it("the public gets a cached summary: the status only, from a check at most 15 s old", async () => {
    const started = Date.now();
    const first = await gatewayFetch(stack, "/health");
    expect(first.status).toBe(200);
    const body = (await first.json()) as { status: string; checked_at: number };
    expect(body).toEqual({ status: "ok", checked_at: expect.any(Number) });
    // Anything but the admin token is the public: no per-store detail. The check is reused per
    // gateway isolate (one check per window: route.test.ts); whichever isolate answers, what it
    // reports is a check no older than the documented 15 s.
    const again = await gatewayFetch(stack, "/health", { key: "sk-not-the-admin" });
    const reused = (await again.json()) as { status: string; checked_at: number };
    expect(reused).toEqual({ status: "ok", checked_at: expect.any(Number) });
    expect(reused.checked_at).toBeGreaterThanOrEqual(started - 15_000);
    expect(reused.checked_at).toBeLessThanOrEqual(Date.now());
  });
});

describe("error shape", () => {
  it("answers an unknown route with 404 in OpenAI's error shape", async () => {
    const res = await gatewayFetch(stack, "/v1/does-not-exist");
    expect(res.status).toBe(404);
    expect(res.headers.get("x-request-id")).toBeTruthy();
    expect(await res.json()).toEqual({
      error: { message: expect.stringContaining("/v1/does-not-exist"), type: "invalid_request_error", param: null, code: "not_found" },
    });
  });

  it("answers a wrong method with 405 and an allow header", async () => {
    const res = await gatewayFetch(stack, "/health", { method: "DELETE" });
    expect(res.status).toBe(405);
    expect(res.headers.get("allow")).toBe("GET");
    expect(res.headers.get("x-request-id")).toBeTruthy();
    const body = (await res.json()) as { error: { code: string; type: string } };
    expect(body.error).toMatchObject({ code: "method_not_allowed", type: "invalid_request_error" });
  });

  it("answers with its own request id and echoes the client's in x-client-request-id", async () => {
    const res = await gatewayFetch(stack, "/nope", { headers: { "x-request-id": "client-req-12345" } });
    expect(res.headers.get("x-request-id")).toMatch(/^req_/);
    expect(res.headers.get("x-client-request-id")).toBe("client-req-12345");
    // OpenAI's own header for a client's id wins over x-request-id; a malformed one is not echoed.
    const both = await gatewayFetch(stack, "/nope", { headers: { "x-client-request-id": "mine-1", "x-request-id": "other-2" } });
    expect(both.headers.get("x-client-request-id")).toBe("mine-1");
    const bad = await gatewayFetch(stack, "/nope", { headers: { "x-request-id": "has spaces and ünïcode" } });
    expect(bad.headers.get("x-client-request-id")).toBeNull();
  });
});

describe("docs", () => {
  it("serves an OpenAPI 3.1 document that includes /health and its 503", async () => {
    const res = await gatewayFetch(stack, "/openapi.json");
    expect(res.status).toBe(200);
    const doc = (await res.json()) as { openapi: string; paths: Record<string, Record<string, { responses: Record<string, unknown> }>> };
    expect(doc.openapi).toBe("3.1.0");
    expect(Object.keys(doc.paths["/health"]!.get!.responses)).toEqual(expect.arrayContaining(["200", "503"]));
  });

  it("renders /docs as HTML", async () => {
    const res = await gatewayFetch(stack, "/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toContain("text/html");
    // The page is Swagger UI from the gateway's own assets; its start script reads this gateway's document.
    expect(await res.text()).toContain('<script src="/docs/init.js"></script>');
    const init = await gatewayFetch(stack, "/docs/init.js");
    expect(init.status).toBe(200);
    expect(await init.text()).toContain('url: "/openapi.json"');
  });
});

describe("private workers", () => {
  it("exposes only the gateway: internal Workers have no workers.dev URL or route", async () => {
    const { readFileSync } = await import("node:fs");
    const { WORKERS } = await import("../../scripts/workers.mjs");
    for (const w of WORKERS.filter((w) => w.name !== "gateway")) {
      const toml = readFileSync(w.config, "utf8");
      expect(toml, w.name).toMatch(/^workers_dev = false$/m);
      expect(toml, w.name).not.toMatch(/^routes?\s*=/m);
    }
  });

  it("answers 404 if a request reaches an internal Worker's fetch handler anyway", async () => {
    const res = await stack.harness.getWorker("auth").fetch("http://auth.internal/health");
    expect(res.status).toBe(404);
    expect(await res.text()).not.toMatch(/auth|d1|kv/i);
  });
});
