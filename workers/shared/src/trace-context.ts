/**
 * W3C Trace Context (`traceparent: 00-<32 hex trace id>-<16 hex parent id>-<2 hex flags>`): the
 * gateway joins a client's trace when it sends a valid header, else starts one; every response
 * names the trace in `x-gateway-trace-id`. An invalid header (wrong version, length, case, or an
 * all-zero id) is ignored, as the spec says, and a new trace is started.
 */
export interface TraceContext {
  traceId: string;
  /** The client's span this request is a child of; null when the gateway started the trace. */
  parentSpanId: string | null;
  /** The gateway's own span for this request. */
  spanId: string;
  sampled: boolean;
}

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
/** `bytes` random bytes as lower-case hex (a table lookup per byte: this runs twice per request). */
function hex(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of random) out += HEX_BYTE[b]!;
  return out;
}

export function traceContextOf(header: string | null | undefined): TraceContext {
  const m = header ? TRACEPARENT.exec(header.trim()) : null;
  if (m && !/^0+$/.test(m[1]!) && !/^0+$/.test(m[2]!)) {
    return { traceId: m[1]!, parentSpanId: m[2]!, spanId: hex(8), sampled: (parseInt(m[3]!, 16) & 1) === 1 };
  }
  return { traceId: hex(16), parentSpanId: null, spanId: hex(8), sampled: true };
}

/** The `traceparent` to send onward (to another Worker or an upstream): this request's span as the parent. */
export function traceparentOf(t: TraceContext): string {
  return `00-${t.traceId}-${t.spanId}-${t.sampled ? "01" : "00"}`;
}
