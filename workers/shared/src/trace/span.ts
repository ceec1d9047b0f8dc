import { errorMessage, log } from "../log";

/**
 * Spans of the gateway's traces, exported as OTLP/HTTP JSON (`POST {collector}/v1/traces`) to the
 * collector named by `OTEL_EXPORTER_OTLP_ENDPOINT` (OpenTelemetry's own variable: the base URL;
 * `OTEL_EXPORTER_OTLP_HEADERS`, `k=v,k2=v2`, e.g. a vendor's API key, as a secret). Unset: nothing
 * is recorded and nothing allocated beyond the trace context itself — the W3C `traceparent` is
 * still carried to tail, model-proxy and every upstream.
 *
 * Spans: one SERVER span per request at the gateway (parent: the client's span from its
 * `traceparent`), one CLIENT span per provider attempt at model-proxy (parent: the gateway's span;
 * the upstream receives a `traceparent` naming the attempt's span), with OpenTelemetry's GenAI
 * attribute names. Attributes hold ids, names, statuses and counts only — never prompt text, a
 * header value or a key.
 */
export type AttributeValue = string | number | boolean;

export const SPAN_KIND = { server: 2, client: 3 } as const;

export interface SpanData {
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: (typeof SPAN_KIND)[keyof typeof SPAN_KIND];
  startMs: number;
  endMs: number;
  attributes: Record<string, AttributeValue | null | undefined>;
  /** OTLP status: error when the request or attempt failed. */
  error: boolean;
}

export interface TraceEnv {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_HEADERS?: string;
}

const HEX_BYTE = Array.from({ length: 256 }, (_, b) => b.toString(16).padStart(2, "0"));
/** `bytes` random bytes as lower-case hex (a table lookup per byte: this runs per request and per attempt). */
function hex(bytes: number): string {
  const random = crypto.getRandomValues(new Uint8Array(bytes));
  let out = "";
  for (const b of random) out += HEX_BYTE[b]!;
  return out;
}
/** A new 8-byte span id (16 hex). */
export const newSpanId = (): string => hex(8);
/** A new 16-byte trace id (32 hex). */
export const newTraceId = (): string => hex(16);

/** `traceparent` naming `spanId` in `traceId`. */
export const traceparent = (traceId: string, spanId: string, sampled = true): string => `00-${traceId}-${spanId}-${sampled ? "01" : "00"}`;

const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;
/** A received `traceparent`'s trace id, parent span id and sampled flag; null if absent or invalid. */
export function parseTraceparent(header: string | null | undefined): { traceId: string; parentSpanId: string; sampled: boolean } | null {
  const m = header ? TRACEPARENT.exec(header.trim()) : null;
  if (!m || /^0+$/.test(m[1]!) || /^0+$/.test(m[2]!)) return null;
  return { traceId: m[1]!, parentSpanId: m[2]!, sampled: (parseInt(m[3]!, 16) & 1) === 1 };
}

// ---- OTLP/HTTP JSON encoding (opentelemetry-proto, JSON mapping: hex ids, int64 as strings) ----

type OtlpValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };
const otlpValue = (v: AttributeValue): OtlpValue =>
  typeof v === "string" ? { stringValue: v } : typeof v === "boolean" ? { boolValue: v } : Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
const attributes = (a: Record<string, AttributeValue | null | undefined>) =>
  Object.entries(a).flatMap(([key, v]) => (v === null || v === undefined ? [] : [{ key, value: otlpValue(v) }]));
const nanos = (ms: number) => `${Math.round(ms)}000000`;

/** The body of `POST /v1/traces`: one resource (the Worker), one scope, its spans. */
export function otlpTraces(service: string, spans: readonly SpanData[], dropped = 0): unknown {
  return {
    resourceSpans: [
      {
        resource: { attributes: attributes({ "service.name": service, "service.namespace": "edge-llm-gateway" }) },
        scopeSpans: [
          {
            scope: { name: "edge-llm-gateway", version: "1", ...(dropped > 0 ? { attributes: attributes({ "otel.dropped_spans": dropped }) } : {}) },
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: s.kind,
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(Math.max(s.endMs, s.startMs)),
              attributes: attributes(s.attributes),
              status: { code: s.error ? 2 : 1 },
            })),
          },
        ],
      },
    ],
  };
}

// ---- the per-isolate exporter ----------------------------------------------------------------

/** Spans wait at most this long for others before they are sent… */
export const FLUSH_WINDOW_MS = 50;
/** …or are sent at once when this many wait. */
export const BATCH_SPANS = 128;
/** The most spans an isolate holds; past it the oldest are dropped (and counted). */
export const MAX_BUFFERED_SPANS = 2_048;
/** Exports in flight at once; while this many wait on the collector, spans buffer (bounded) instead. */
export const MAX_EXPORTS_IN_FLIGHT = 4;

/**
 * One isolate's spans, batched off the hot path like usage events (gateway/usage/batcher.ts): the
 * span that opens a window sends the batch from its request's `waitUntil` after FLUSH_WINDOW_MS
 * (or at once at BATCH_SPANS). The buffer is bounded (drop-oldest, counted in `dropped` and
 * reported to the collector as `otel.dropped_spans`); a failed export is dropped and logged, never
 * retried, never seen by a request.
 */
export class SpanExporter {
  #buffer: SpanData[] = [];
  #windowOpen = false;
  #inFlight = 0;
  dropped = 0;

  constructor(
    private readonly service: string,
    private readonly post: (url: string, init: RequestInit) => Promise<Response> = (url, init) => fetch(url, init),
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Spans waiting (tests, diagnostics). */
  get pending(): number {
    return this.#buffer.length;
  }

  add(env: TraceEnv, waitUntil: (p: Promise<unknown>) => void, span: SpanData): void {
    const endpoint = env.OTEL_EXPORTER_OTLP_ENDPOINT;
    if (!endpoint) return;
    if (this.#buffer.length >= MAX_BUFFERED_SPANS) {
      this.#buffer.shift();
      this.dropped++;
    }
    this.#buffer.push(span);
    if (this.#buffer.length >= BATCH_SPANS && this.#inFlight < MAX_EXPORTS_IN_FLIGHT) {
      waitUntil(this.#send(env, this.#take()));
      return;
    }
    if (this.#windowOpen) return;
    this.#windowOpen = true;
    waitUntil(
      this.sleep(FLUSH_WINDOW_MS).then(() => {
        this.#windowOpen = false;
        return this.#send(env, this.#take());
      }),
    );
  }

  #take(): SpanData[] {
    const spans = this.#buffer;
    this.#buffer = [];
    return spans;
  }

  async #send(env: TraceEnv, spans: SpanData[]): Promise<void> {
    if (spans.length === 0 || !env.OTEL_EXPORTER_OTLP_ENDPOINT) return;
    const dropped = this.dropped;
    this.dropped = 0;
    const url = `${env.OTEL_EXPORTER_OTLP_ENDPOINT.replace(/\/+$/, "")}/v1/traces`;
    this.#inFlight++;
    try {
      const res = await this.post(url, { method: "POST", headers: exportHeaders(env), body: JSON.stringify(otlpTraces(this.service, spans, dropped)) });
      await res.body?.cancel();
      if (!res.ok) throw new Error(`collector answered ${res.status}`);
    } catch (err) {
      log.warn(this.service, "trace export failed; spans dropped", { op: "trace-export", count: spans.length, message: errorMessage(err) });
    } finally {
      this.#inFlight--;
    }
  }
}

let parsedHeaders: { from: string | undefined; headers: Record<string, string> } | null = null;
/** `content-type` plus `OTEL_EXPORTER_OTLP_HEADERS` (`k=v,k2=v2`, values URL-encoded), parsed once. */
function exportHeaders(env: TraceEnv): Record<string, string> {
  if (!parsedHeaders || parsedHeaders.from !== env.OTEL_EXPORTER_OTLP_HEADERS) {
    const headers: Record<string, string> = { "content-type": "application/json" };
    for (const pair of (env.OTEL_EXPORTER_OTLP_HEADERS ?? "").split(",")) {
      const eq = pair.indexOf("=");
      if (eq > 0) headers[pair.slice(0, eq).trim().toLowerCase()] = decodeURIComponent(pair.slice(eq + 1).trim());
    }
    parsedHeaders = { from: env.OTEL_EXPORTER_OTLP_HEADERS, headers };
    return headers;
  }
  return parsedHeaders.headers;
}

/** Is a collector configured? (Nothing is recorded otherwise.) */
export const tracing = (env: TraceEnv): boolean => !!env.OTEL_EXPORTER_OTLP_ENDPOINT;

/** gen_ai.provider.name for a provider type (OpenTelemetry's well-known values; others as named). */
export function genAiProvider(type: string): string {
  switch (type) {
    case "google":
      return "gcp.gemini";
    case "azure-openai":
      return "azure.ai.openai";
    case "mistral":
      return "mistral_ai";
    case "xai":
      return "x_ai";
    default:
      return type;
  }
}

/** gen_ai.operation.name for a proxied operation. */
export function genAiOperation(operation: string): string {
  return operation === "completions" ? "text_completion" : operation === "embeddings" ? "embeddings" : "chat";
}
