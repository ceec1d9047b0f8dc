import type { MiddlewareHandler } from "hono";
import type { Principal } from "../../../shared/src";
import type { TokenUsage } from "../../../shared/src/token-usage";
import type { GatewayBindings } from "../types";

/**
 * A request another Worker runs through the gateway's own app: a batch line (batch/line-service.ts)
 * or one model step of a Responses/agentic run (responses/step-service.ts). The Request object is
 * created in this isolate and registered here, so nothing a client sends can make a request count
 * as one of these: the registry is keyed by the object itself, not by a header.
 */
export interface InternalCall {
  principal: Principal;
  /** Server-made from the batch id and line, or the response id and step (its usage event's id). */
  requestId: string;
  /** A batch line: metered as `batch`, tagged with the batch and custom id, limited at batch priority. */
  batch?: { batchId: string; customId: string };
  /** A step of a Responses/agentic run: its usage is tagged with the response id. */
  responseId?: string;
  /** Set by the route when it meters the call (usage/event.ts `meteredUsage`): what its usage event carries. */
  usage?: TokenUsage;
}

const calls = new WeakMap<Request, InternalCall>();

export function registerInternalCall(request: Request, call: InternalCall): void {
  calls.set(request, call);
}

export function internalCallOf(request: Request): InternalCall | undefined {
  return calls.get(request);
}

/** Gives an internal call its principal (already re-authenticated by key id), so the API-key middleware has nothing to do. */
export function internalCaller(): MiddlewareHandler<GatewayBindings> {
  return async function internalCallerMiddleware(c, next) {
    const call = internalCallOf(c.req.raw);
    if (call) c.set("principal", call.principal);
    await next();
  };
}
