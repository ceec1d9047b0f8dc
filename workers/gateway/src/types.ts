import type { Principal } from "../../shared/src";
import type { OwnerRef } from "../../shared/src/contracts/providers";

/** Hono's typing for the gateway: its bindings and what middleware stores on the context. */
export interface GatewayBindings {
  Bindings: GatewayEnv;
  Variables: {
    requestId: string;
    /** Set by the API-key middleware on /v1 routes. */
    principal: Principal;
    /** Set on /v1/providers and /v1/routes: the platform (admin token) or the caller's tenant. */
    providerOwner: OwnerRef;
  };
}
