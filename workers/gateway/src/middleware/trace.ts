import type { MiddlewareHandler } from "hono";
import { traceContextOf } from "../../../shared/src/trace-context";
import type { GatewayBindings } from "../types";

/** Joins the client's W3C trace (or starts one) and names it on every response in `x-gateway-trace-id`. */
export function traceContext(): MiddlewareHandler<GatewayBindings> {
  return async function traceMiddleware(c, next) {
    const trace = traceContextOf(c.req.header("traceparent"));
    c.set("trace", trace);
    await next();
    c.res.headers.set("x-gateway-trace-id", trace.traceId);
  };
}
