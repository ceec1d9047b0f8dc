import type { MiddlewareHandler } from "hono";
import type { Principal } from "../../../shared/src";
import type { TokenUsage } from "../../../shared/src/token-usage";
import type { GatewayBindings } from "../types";

/**
 * A batch line running through the gateway's own app (batch/line-service.ts). The line's Request
 * object is created in this isolate and registered here, so nothing a client sends can make a
 * request count as a batch line: the registry is keyed by the object itself, not by a header.
 */
export interface BatchLineCall {
  principal: Principal;
  /** The line's request id, derived from the batch id and line number (its usage event's id). */
  requestId: string;
  batchId: string;
  customId: string;
  /** Set by the route when it meters the line (usage/event.ts `meteredUsage`): what its usage event carries. */
  usage?: TokenUsage;
}

const calls = new WeakMap<Request, BatchLineCall>();

export function registerBatchLine(request: Request, call: BatchLineCall): void {
  calls.set(request, call);
}

export function batchLineOf(request: Request): BatchLineCall | undefined {
  return calls.get(request);
}

/** Gives a batch line its principal (already re-authenticated by key id), so the API-key middleware has nothing to do. */
export function batchLineCaller(): MiddlewareHandler<GatewayBindings> {
  return async function batchLineCallerMiddleware(c, next) {
    const call = batchLineOf(c.req.raw);
    if (call) c.set("principal", call.principal);
    await next();
  };
}
