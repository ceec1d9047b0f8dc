import { Hono } from "hono";
import { describe, expect, it } from "vitest";
import { ApiError, errorResponse } from "../../../shared/src";
import { onError } from "../middleware/errors";
import type { GatewayBindings } from "../types";
import { anthropicErrors, checkAnthropicVersion } from "./errors";

function app() {
  const a = new Hono<GatewayBindings>();
  a.use("*", async (c, next) => {
    c.set("requestId", "req_test_1");
    await next();
  });
  a.onError(onError);
  a.use("/v1/messages", anthropicErrors());
  a.post("/v1/messages", (c) => {
    const kind = c.req.query("kind");
    if (kind === "thrown") throw new ApiError({ code: "invalid_request", param: "max_tokens", message: "Missing required parameter: 'max_tokens'." });
    if (kind === "version") checkAnthropicVersion(c.req.raw.headers);
    if (kind === "relayed")
      return errorResponse(
        { code: "upstream_rate_limited", message: "Provider 'claude' is rate limiting requests.", headers: { "retry-after": "7" } },
        "req_test_1",
      );
    return c.json({ type: "message" });
  });
  return a;
}

describe("Anthropic error shape on /v1/messages", () => {
  it("re-renders a thrown gateway error in Anthropic's shape with the same status", async () => {
    const res = await app().request("/v1/messages?kind=thrown", { method: "POST" });
    expect(res.status).toBe(400);
    expect(await res.json()).toEqual({
      type: "error",
      error: { type: "invalid_request_error", message: "max_tokens: Missing required parameter: 'max_tokens'." },
      request_id: "req_test_1",
    });
    expect(res.headers.get("x-request-id")).toBe("req_test_1");
  });

  it("re-renders an error relayed from model-proxy, keeping retry-after", async () => {
    const res = await app().request("/v1/messages?kind=relayed", { method: "POST" });
    expect(res.status).toBe(429);
    expect(res.headers.get("retry-after")).toBe("7");
    expect(((await res.json()) as { error: { type: string } }).error.type).toBe("rate_limit_error");
  });

  it("refuses a malformed anthropic-version, accepts dated ones and none", async () => {
    const bad = await app().request("/v1/messages?kind=version", { method: "POST", headers: { "anthropic-version": "latest" } });
    expect(bad.status).toBe(400);
    expect(((await bad.json()) as { error: { message: string } }).error.message).toContain("anthropic-version");
    expect((await app().request("/v1/messages?kind=version", { method: "POST", headers: { "anthropic-version": "2023-06-01" } })).status).toBe(200);
    expect((await app().request("/v1/messages?kind=version", { method: "POST", headers: { "anthropic-version": "2026-10-21" } })).status).toBe(200);
    expect((await app().request("/v1/messages?kind=version", { method: "POST" })).status).toBe(200);
  });

  it("leaves successful answers alone", async () => {
    const res = await app().request("/v1/messages", { method: "POST" });
    expect(await res.json()).toEqual({ type: "message" });
  });
});
