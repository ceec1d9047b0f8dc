import type { MiddlewareHandler } from "hono";
import { ApiError, timingSafeEqualStrings } from "../../../shared/src";
import type { GatewayBindings } from "../types";

/**
 * Guards `/admin`: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time (both sides
 * hashed first, so neither length nor content leaks). A tenant API key is refused here with 401:
 * keys manage themselves under `/v1/keys`, never through `/admin`. The token is never logged.
 */
export function adminTokenAuth(): MiddlewareHandler<GatewayBindings> {
  return async function adminTokenMiddleware(c, next) {
    const header = c.req.header("authorization");
    const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
    if (!m) {
      throw new ApiError({
        code: "missing_api_key",
        message: "This endpoint requires the admin token: Authorization: Bearer <ADMIN_TOKEN>.",
      });
    }
    const expected = c.env.ADMIN_TOKEN;
    if (!expected) {
      console.error(JSON.stringify({ level: "error", requestId: c.get("requestId"), message: "ADMIN_TOKEN is not configured; /admin is closed" }));
      throw new ApiError({ code: "invalid_api_key", message: "Invalid admin token." });
    }
    if (!(await timingSafeEqualStrings(m[1]!, expected))) {
      throw new ApiError({
        code: "invalid_api_key",
        message: m[1]!.startsWith("sk-")
          ? "API keys cannot call /admin: use the admin token (tenants manage their own keys under /v1/keys)."
          : "Invalid admin token.",
      });
    }
    await next();
  };
}
