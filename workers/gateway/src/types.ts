import type { Principal } from "../../shared/src";
import type { OwnerRef } from "../../shared/src/contracts/providers";
import type { ConsoleSession, SessionCredential } from "../../shared/src/contracts/users";
import type { TraceContext } from "../../shared/src/trace-context";

/** Hono's typing for the gateway: its bindings and what middleware stores on the context. */
export interface GatewayBindings {
  Bindings: GatewayEnv;
  Variables: {
    /** The gateway's own id of the request (middleware/request-id.ts). */
    requestId: string;
    /** The client's own id for it, if it sent a well-formed one: echoed and recorded, never an identity. */
    clientRequestId: string | null;
    /** Set by the API-key middleware on /v1 routes. */
    principal: Principal;
    /** Set on /v1/providers and /v1/routes: the platform (admin token) or the caller's tenant. */
    providerOwner: OwnerRef;
    /** Set once the admin token is checked: the signed admin context internal Workers verify. */
    adminContext: string;
    /** Console routes: the session cookie's credential, and the live session auth confirmed (console/session.ts). */
    consoleCredential: SessionCredential;
    consoleSession: ConsoleSession;
    /** The request's W3C trace context (middleware/trace.ts). */
    trace: TraceContext;
  };
}
