import type { MiddlewareHandler } from "hono";
import { ApiError } from "../../../shared/src";
import { ANTHROPIC_VERSION_FORMAT, anthropicErrorFromOpenAI } from "../../../shared/src/anthropic";
import type { GatewayBindings } from "../types";

/**
 * Anthropic's answers on `/v1/messages` and everything under it. Every answer — stream or not,
 * success or error — carries `request-id` (Anthropic's header, what `@anthropic-ai/sdk` reads into
 * `_request_id` and its errors' `requestID`), the same id as `x-request-id`.
 *
 * Anthropic's error shape there. Every failure in the gateway — a bad key from the
 * auth middleware, a validation error, a refused limit, an upstream error relayed from model-proxy
 * — is produced once, in OpenAI's shape, by the shared error model; this middleware sits outside
 * all of them and re-renders that body as `{"type":"error","error":{"type","message"}}` with the
 * same status and headers (`retry-after`, `x-request-id`, …), which is what `@anthropic-ai/sdk`
 * reads to raise its typed errors.
 */
export function anthropicErrors(): MiddlewareHandler<GatewayBindings> {
  return async (c, next) => {
    await next();
    c.res.headers.set("request-id", c.get("requestId"));
    const res = c.res;
    if (res.status < 400 || !(res.headers.get("content-type") ?? "").includes("application/json")) return;
    const body: unknown = await res
      .clone()
      .json()
      .catch(() => null);
    const converted = anthropicErrorFromOpenAI(body, res.status, c.get("requestId"));
    if (!converted) return;
    const headers = new Headers(res.headers);
    headers.delete("content-length");
    c.res = undefined;
    c.res = new Response(JSON.stringify(converted), { status: res.status, headers });
  };
}

/**
 * `anthropic-version`: optional here (curl users often omit it; an Anthropic upstream then gets
 * `2023-06-01`), otherwise a dated version (`YYYY-MM-DD`) that goes to Anthropic upstreams as the
 * client sent it — the SDKs move to newer versions over time, and Anthropic decides which it knows.
 */
export function checkAnthropicVersion(headers: Headers): void {
  const version = headers.get("anthropic-version");
  if (version !== null && !ANTHROPIC_VERSION_FORMAT.test(version)) {
    throw new ApiError({
      code: "invalid_request",
      param: "anthropic-version",
      message: `Invalid anthropic-version '${version}': expected a dated version such as 2023-06-01.`,
    });
  }
}
