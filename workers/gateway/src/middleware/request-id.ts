import type { MiddlewareHandler } from "hono";
import { requestIdFrom } from "../../../shared/src";
import type { GatewayBindings } from "../types";

/** Gives every request an id (or keeps a well-formed incoming one) and echoes it on every response. */
export function requestId(): MiddlewareHandler<GatewayBindings> {
  return async function requestIdMiddleware(c, next) {
    const id = requestIdFrom(c.req.raw.headers);
    c.set("requestId", id);
    await next();
    c.res.headers.set("x-request-id", id);
  };
}
