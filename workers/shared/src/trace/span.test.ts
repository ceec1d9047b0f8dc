import { describe, expect, it } from "vitest";
import { BATCH_SPANS, MAX_BUFFERED_SPANS, MAX_EXPORTS_IN_FLIGHT, otlpTraces, parseTraceparent, SPAN_KIND, SpanExporter, type SpanData } from "./span";

const span = (i: number): SpanData => ({
  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
  spanId: i.toString(16).padStart(16, "0"),
  parentSpanId: "00f067aa0ba902b7",
  name: "chat m",
  kind: SPAN_KIND.client,
  startMs: 1_700_000_000_123,
  endMs: 1_700_000_000_456,
  attributes: { "gen_ai.request.model": "m", "http.response.status_code": 200, "error.type": null },
  error: false,
});

function harness() {
  const posts: { url: string; body: unknown; headers: Record<string, string> }[] = [];
  const waits: Promise<unknown>[] = [];
  let release: () => void = () => {};
  const gate = new Promise<void>((r) => (release = r));
  const exporter = new SpanExporter(
    "model-proxy",
    async (url, init) => {
      posts.push({ url, body: JSON.parse(String(init.body)), headers: init.headers as Record<string, string> });
      return new Response("{}");
    },
    () => gate,
  );
  return { exporter, posts, waits, waitUntil: (p: Promise<unknown>) => void waits.push(p), flush: async () => (release(), await Promise.all(waits)) };
}

describe("OTLP/HTTP JSON", () => {
  it("encodes resourceSpans/scopeSpans/spans with hex ids, unix nanos as strings and typed attributes (nulls left out)", () => {
    expect(otlpTraces("gateway", [span(1)])).toEqual({
      resourceSpans: [
        {
          resource: {
            attributes: [
              { key: "service.name", value: { stringValue: "gateway" } },
              { key: "service.namespace", value: { stringValue: "edge-llm-gateway" } },
            ],
          },
          scopeSpans: [
            {
              scope: { name: "edge-llm-gateway", version: "1" },
              spans: [
                {
                  traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
                  spanId: "0000000000000001",
                  parentSpanId: "00f067aa0ba902b7",
                  name: "chat m",
                  kind: 3,
                  startTimeUnixNano: "1700000000123000000",
                  endTimeUnixNano: "1700000000456000000",
                  attributes: [
                    { key: "gen_ai.request.model", value: { stringValue: "m" } },
                    { key: "http.response.status_code", value: { intValue: "200" } },
                  ],
                  status: { code: 1 },
                },
              ],
            },
          ],
        },
      ],
    });
  });

  it("parses a valid traceparent and refuses invalid ones", () => {
    expect(parseTraceparent("00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01")).toEqual({
      traceId: "4bf92f3577b34da6a3ce929d0e0e4736",
      parentSpanId: "00f067aa0ba902b7",
      sampled: true,
    });
    for (const bad of [null, "", "01-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01", "00-00000000000000000000000000000000-00f067aa0ba902b7-01"])
      expect(parseTraceparent(bad)).toBeNull();
  });
});

describe("SpanExporter", () => {
  it("records nothing without a collector", async () => {
    const h = harness();
    h.exporter.add({}, h.waitUntil, span(1));
    await h.flush();
    expect([h.exporter.pending, h.posts.length, h.waits.length]).toEqual([0, 0, 0]);
  });

  it("batches one window's spans into one POST {collector}/v1/traces with the configured headers, in waitUntil", async () => {
    const h = harness();
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://collector:4318/", OTEL_EXPORTER_OTLP_HEADERS: "x-honeycomb-team=abc%3D,other = v" };
    for (let i = 1; i <= 3; i++) h.exporter.add(env, h.waitUntil, span(i));
    expect(h.posts).toHaveLength(0);
    expect(h.waits).toHaveLength(1);
    await h.flush();
    expect(h.posts.map((p) => [p.url, p.headers])).toEqual([
      ["http://collector:4318/v1/traces", { "content-type": "application/json", "x-honeycomb-team": "abc=", other: "v" }],
    ]);
    const sent = (h.posts[0]!.body as { resourceSpans: { scopeSpans: { spans: { spanId: string }[] }[] }[] }).resourceSpans[0]!.scopeSpans[0]!.spans;
    expect(sent.map((s) => s.spanId)).toEqual([1, 2, 3].map((i) => i.toString(16).padStart(16, "0")));
  });

  it("sends at once at BATCH_SPANS; while the collector holds MAX_EXPORTS_IN_FLIGHT sends, keeps at most MAX_BUFFERED_SPANS, dropping the oldest and counting them", async () => {
    const posts: number[] = [];
    const exporter = new SpanExporter(
      "gateway",
      (_url, init) => {
        posts.push(
          (JSON.parse(String(init.body)) as { resourceSpans: { scopeSpans: { spans: unknown[] }[] }[] }).resourceSpans[0]!.scopeSpans[0]!.spans.length,
        );
        return new Promise<Response>(() => {}); // a collector that never answers
      },
      () => new Promise<void>(() => {}), // windows that never close
    );
    const env = { OTEL_EXPORTER_OTLP_ENDPOINT: "http://c" };
    for (let i = 0; i < MAX_EXPORTS_IN_FLIGHT * BATCH_SPANS; i++) exporter.add(env, () => {}, span(i));
    await Promise.resolve();
    expect(posts).toEqual(Array.from({ length: MAX_EXPORTS_IN_FLIGHT }, () => BATCH_SPANS));
    for (let i = 0; i < MAX_BUFFERED_SPANS + 5; i++) exporter.add(env, () => {}, span(i));
    expect(posts).toHaveLength(MAX_EXPORTS_IN_FLIGHT);
    expect([exporter.pending, exporter.dropped]).toEqual([MAX_BUFFERED_SPANS, 5]);
  });
});
