import type { Context, MiddlewareHandler } from "hono";
import { ApiError, signAdminContext, timingSafeEqualStrings } from "../../../shared/src";
import type { GatewayBindings } from "../types";
import { log } from "../../../shared/src/log";

/** The bearer token of a request, if it sends one. */
function bearerOf(header: string | undefined): string | null {
  const m = header ? /^Bearer\s+(\S+)\s*$/i.exec(header) : null;
  return m ? m[1]! : null;
}

/** Does the request carry the admin token? For routes open to all that tell the admin more. */
export async function presentsAdminToken(c: Context<GatewayBindings>): Promise<boolean> {
  const presented = bearerOf(c.req.header("authorization"));
  const expected = c.env.ADMIN_TOKEN;
  return presented !== null && !!expected && (await timingSafeEqualStrings(presented, expected));
}

let minted: { jwk: string; token: string; expiresAt: number } | undefined;

/**
 * The signed admin context this isolate presents to auth, billing and model-proxy once the admin
 * token has been checked: reused while it has more than a minute to live.
 */
export async function adminContextToken(env: GatewayEnv, now: number = Date.now()): Promise<string> {
  if (!minted || minted.jwk !== env.GATEWAY_SIGNING_JWK || minted.expiresAt - now < 60_000) {
    const signed = await signAdminContext(env.GATEWAY_SIGNING_JWK, now);
    minted = { jwk: env.GATEWAY_SIGNING_JWK, ...signed };
  }
  return minted.token;
}

/**
 * Guards `/admin`: `Authorization: Bearer <ADMIN_TOKEN>`, compared in constant time (both sides
 * hashed first, so neither length nor content leaks). A tenant API key is refused here with 401:
 * keys manage themselves under `/v1/keys`, never through `/admin`. The token is never logged.
 */
export function adminTokenAuth(): MiddlewareHandler<GatewayBindings> {
  return async function adminTokenMiddleware(c, next) {
    const presented = bearerOf(c.req.header("authorization"));
    if (presented === null) {
      throw new ApiError({
        code: "missing_api_key",
        message: "This endpoint requires the admin token: Authorization: Bearer <ADMIN_TOKEN>.",
      });
    }
    const expected = c.env.ADMIN_TOKEN;
    if (!expected) {
      log.error("gateway", "ADMIN_TOKEN is not configured; /admin is closed", { requestId: c.get("requestId") });
      throw new ApiError({ code: "invalid_api_key", message: "Invalid admin token." });
    }
    if (!(await timingSafeEqualStrings(presented, expected))) {
      throw new ApiError({
        code: "invalid_api_key",
        message: presented.startsWith("sk-")
          ? "API keys cannot call /admin: use the admin token (tenants manage their own keys under /v1/keys)."
          : "Invalid admin token.",
      });
    }
    c.set("adminContext", await adminContextToken(c.env));
    await next();
  };
}
