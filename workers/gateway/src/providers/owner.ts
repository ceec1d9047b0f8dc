import type { Context, MiddlewareHandler } from "hono";
import { ApiError, hasScope, timingSafeEqualStrings } from "../../../shared/src";
import type { OwnerRef } from "../../../shared/src/contracts/providers";
import { adminContextToken } from "../middleware/admin-token";
import { principalFor, readApiKey } from "../middleware/api-key";
import type { GatewayBindings } from "../types";

/**
 * Who calls `/v1/providers` and `/v1/routes`: the admin token manages the platform's providers
 * (serving every tenant), a tenant API key its tenant's own. Sets `c.var.principal` for a key.
 * The scope check here (`providers:read` to look, `providers:write` to change) answers 403 before
 * any work; model-proxy checks the signed principal token again before acting.
 */
export function providerOwnerAuth(): MiddlewareHandler<GatewayBindings> {
  return async function providerOwnerMiddleware(c, next) {
    const presented = readApiKey(c.req.raw.headers);
    if (!presented) {
      throw new ApiError({
        code: "missing_api_key",
        message:
          "You didn't provide an API key. Send an API key with the providers:read/providers:write scope, or the admin token, as Authorization: Bearer <token>.",
      });
    }
    if (!presented.startsWith("sk-") && c.env.ADMIN_TOKEN && (await timingSafeEqualStrings(presented, c.env.ADMIN_TOKEN))) {
      const adminToken = await adminContextToken(c.env);
      c.set("adminContext", adminToken);
      c.set("providerOwner", { kind: "platform", adminToken });
      return next();
    }
    const principal = await principalFor(c, presented);
    c.set("principal", principal);
    const write = c.req.method !== "GET" && c.req.method !== "HEAD";
    const allowed = write ? hasScope(principal, "providers:write") : hasScope(principal, "providers:read") || hasScope(principal, "providers:write");
    if (!allowed) {
      throw new ApiError({
        code: "permission_denied",
        message: `This API key does not have the '${write ? "providers:write" : "providers:read"}' scope required for this endpoint.`,
      });
    }
    c.set("providerOwner", { kind: "tenant", principalToken: principal.token });
    return next();
  };
}

export function ownerOf(c: Context<GatewayBindings>): OwnerRef {
  return c.get("providerOwner");
}
