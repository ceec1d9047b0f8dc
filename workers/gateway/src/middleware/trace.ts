import type { MiddlewareHandler } from "hono";
import { GATEWAY_HEADERS } from "../../../shared/src/proxy/headers";
import { traceContextOf } from "../../../shared/src/trace-context";
import { SPAN_KIND, SpanExporter, type TraceEnv } from "../../../shared/src/trace/span";
import type { GatewayBindings } from "../types";

/** This isolate's span batcher (shared/src/trace/span.ts). */
export const gatewaySpans = new SpanExporter("gateway");

/**
 * Joins the client's W3C trace (or starts one) and names it on every response in
 * `x-gateway-trace-id`. With a collector configured (`OTEL_EXPORTER_OTLP_ENDPOINT`) it records the
 * request's SERVER span — parent: the client's span — when the answer's headers are ready (a
 * stream's span ends at its first byte; its attempts are model-proxy's spans). Without one it
 * records nothing.
 */
export function traceContext(): MiddlewareHandler<GatewayBindings> {
  return async function traceMiddleware(c, next) {
    const trace = traceContextOf(c.req.header("traceparent"));
    c.set("trace", trace);
    const env = c.env as TraceEnv | undefined;
    if (!env?.OTEL_EXPORTER_OTLP_ENDPOINT) {
      await next();
      c.res.headers.set("x-gateway-trace-id", trace.traceId);
      return;
    }
    const startMs = Date.now();
    await next();
    c.res.headers.set("x-gateway-trace-id", trace.traceId);
    const status = c.res.status;
    const h = c.res.headers;
    const route = c.req.routePath && c.req.routePath !== "*" ? c.req.routePath : null;
    gatewaySpans.add(env, (p) => c.executionCtx.waitUntil(p), {
      traceId: trace.traceId,
      spanId: trace.spanId,
      parentSpanId: trace.parentSpanId,
      name: route ? `${c.req.method} ${route}` : c.req.method,
      kind: SPAN_KIND.server,
      startMs,
      endMs: Date.now(),
      error: status >= 500,
      attributes: {
        "http.request.method": c.req.method,
        "http.route": route,
        "url.path": c.req.path,
        "http.response.status_code": status,
        "error.type": status >= 500 ? String(status) : null,
        "gateway.request_id": c.get("requestId"),
        "gateway.tenant_id": c.get("principal")?.tenantId ?? null,
        "gateway.provider": h.get(GATEWAY_HEADERS.provider),
        "gateway.attempts": Number(h.get(GATEWAY_HEADERS.attempts)) || null,
        "gen_ai.response.model": h.get(GATEWAY_HEADERS.model),
      },
    });
  };
}
