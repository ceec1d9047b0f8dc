import type { Context } from "hono";
import type { AuthCallContext } from "../../../shared/src/contracts/auth";
import type { GatewayBindings } from "../types";

/** The call context for an admin-token request: the gateway vouches for the admin. */
export function adminContext(c: Context<GatewayBindings>): AuthCallContext {
  return { requestId: c.get("requestId"), actor: { type: "admin" } };
}

/** The call context for a tenant's self-service request: auth verifies the principal token. */
export function keyContext(c: Context<GatewayBindings>): AuthCallContext {
  return { requestId: c.get("requestId"), actor: { type: "key", token: c.get("principal").token } };
}
