import type { ErrorHandler, NotFoundHandler, Hono } from "hono";
import { HTTPException } from "hono/http-exception";
import { ApiError, errorResponse, type ApiErrorInit } from "../../../shared/src";
import type { GatewayBindings } from "../types";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * Turns anything thrown into OpenAI's error shape. Unknown errors are logged with the request id
 * and answered with a generic 500: internal messages never reach the client.
 */
export const onError: ErrorHandler<GatewayBindings> = (err, c) => {
  const requestId = c.get("requestId");
  if (err instanceof ApiError) return errorResponse(err.toInit(), requestId);
  if (err instanceof HTTPException) return errorResponse(fromHttpException(err), requestId);
  log.error("gateway", "internal error", { requestId, message: errorMessage(err) });
  return errorResponse({ code: "internal_error", message: "The gateway had an internal error. Quote the request id when reporting it." }, requestId);
};

function fromHttpException(err: HTTPException): ApiErrorInit {
  if (err.status === 400) return { code: "invalid_json", message: "The request body is not valid JSON.", param: null };
  if (err.status === 413) return { code: "payload_too_large", message: err.message };
  if (err.status === 415) return { code: "unsupported_media_type", message: err.message };
  if (err.status === 401) return { code: "invalid_api_key", message: err.message || "Unauthorized." };
  return { code: err.status >= 500 ? "internal_error" : "invalid_request", message: err.message, status: err.status };
}

/**
 * Unknown route → 404; known path with another method → 405 with `allow`, as HTTP requires.
 * Hono has no 405 of its own, so the registered routes are matched here.
 */
export function notFound(app: Hono<GatewayBindings>): NotFoundHandler<GatewayBindings> {
  let matchers: { re: RegExp; method: string }[] | undefined;
  return (c) => {
    matchers ??= app.routes
      .filter((r) => r.method !== "ALL")
      .map((r) => ({ method: r.method, re: new RegExp(`^${r.path.replace(/:[^/]+/g, "[^/]+").replace(/\*/g, ".*")}$`) }));
    const path = c.req.path;
    const allowed = [...new Set(matchers.filter((m) => m.re.test(path)).map((m) => m.method))];
    const requestId = c.get("requestId");
    if (allowed.length > 0) {
      return errorResponse(
        {
          code: "method_not_allowed",
          message: `Method ${c.req.method} is not allowed on ${path}. Allowed: ${allowed.join(", ")}.`,
          headers: { allow: allowed.join(", ") },
        },
        requestId,
      );
    }
    return errorResponse({ code: "not_found", message: `Unknown route: ${c.req.method} ${path}.` }, requestId);
  };
}
