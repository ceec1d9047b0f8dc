import { newSpanId, newTraceId, parseTraceparent, traceparent } from "./trace/span";

/**
 * W3C Trace Context (`traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`): the
 * gateway joins a client's trace when it sends a valid header, else starts one; every response
 * names the trace in `x-gateway-trace-id`. An invalid header (wrong version, length, case, or an
 * all-zero id) is ignored, as the spec says, and a new trace is started. Spans and their export:
 * trace/span.ts.
 */
export interface TraceContext {
  traceId: string;
  /** The client's span this request is a child of; null when the gateway started the trace. */
  parentSpanId: string | null;
  /** The gateway's own span for this request. */
  spanId: string;
  sampled: boolean;
}

export function traceContextOf(header: string | null | undefined): TraceContext {
  const joined = parseTraceparent(header);
  if (joined) return { ...joined, spanId: newSpanId() };
  return { traceId: newTraceId(), parentSpanId: null, spanId: newSpanId(), sampled: true };
}

/** The `traceparent` to send onward (to another Worker or an upstream): this request's span as the parent. */
export function traceparentOf(t: TraceContext): string {
  return traceparent(t.traceId, t.spanId, t.sampled);
}
