import type { Context } from "hono";
import type { Actor } from "../../../shared/src/contracts/actor";
import type { AuthCallContext } from "../../../shared/src/contracts/auth";
import type { GatewayBindings } from "../types";

/** The actor of an admin-token request: the gateway's signed admin context, which the callee verifies. */
export function adminActor(c: Context<GatewayBindings>): Actor {
  return { type: "admin", token: c.get("adminContext") };
}

/** The call context for an admin-token request to auth. */
export function adminContext(c: Context<GatewayBindings>): AuthCallContext {
  return { requestId: c.get("requestId"), actor: adminActor(c) };
}

/** The call context for a tenant's self-service request: auth verifies the principal token. */
export function keyContext(c: Context<GatewayBindings>): AuthCallContext {
  return { requestId: c.get("requestId"), actor: { type: "key", token: c.get("principal").token } };
}
