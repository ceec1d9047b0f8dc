import type { Principal } from "../../shared/src";

/** Hono's typing for the gateway: its bindings and what middleware stores on the context. */
export interface GatewayBindings {
  Bindings: GatewayEnv;
  Variables: {
    requestId: string;
    /** Set by the API-key middleware on /v1 routes. */
    principal: Principal;
  };
}
