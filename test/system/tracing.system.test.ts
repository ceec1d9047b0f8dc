import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { uniqueModel } from "../support/names";
import { startOtlpCollector, type CollectedSpan, type OtlpCollector } from "../support/otlp-collector";
import { createProvider, createRoute, providerTenant, type Caller } from "../support/providers";
import { startStack, type Stack } from "../support/stack";
import { eventually } from "../support/wait";

/**
 * Traces: a client's W3C `traceparent` is joined by the gateway, carried to tail and model-proxy
 * and on to every upstream attempt (a new span id per attempt), and the spans — the gateway's
 * SERVER span and one CLIENT span per provider attempt, with OpenTelemetry's GenAI attribute
 * names — reach the local collector as OTLP/HTTP JSON.
 */
let stack: Stack;
let upstream: FakeUpstream;
let collector: OtlpCollector;
let tenant: { caller: Caller; client: OpenAI; apiKey: string };

beforeAll(async () => {
  collector = await startOtlpCollector();
  upstream = await startFakeUpstream();
  const otel = { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url };
  stack = await startStack({ vars: { gateway: otel, "model-proxy": otel } });
  const t = await providerTenant(stack);
  tenant = { ...t, apiKey: t.caller.token };
  for (const name of ["trace-primary", "trace-secondary"])
    await createProvider(stack, tenant.caller, { name, type: "openai", base_url: upstream.url, api_key: upstream.apiKey });
});
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
  await collector?.close();
});

const TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736";
const CLIENT_SPAN = "00f067aa0ba902b7";
const PROMPT = "Tracing prompt text that must never be exported 7d1c";

describe("traces", () => {
  it("a traced request that falls back yields the gateway's span (parent: the client's span) and one span per provider attempt at the collector", async () => {
    const first = uniqueModel("trace-first");
    const second = uniqueModel("trace-second");
    const route = await createRoute(stack, tenant.caller, {
      name: uniqueModel("trace-route"),
      strategy: "fallback",
      retries: 0,
      targets: [
        { provider: "trace-primary", model: first },
        { provider: "trace-secondary", model: second },
      ],
    });
    upstream.on(first, { error: { status: 500 } });

    const { data, response } = await tenant.client.chat.completions
      .create({ model: route.name, messages: [{ role: "user", content: PROMPT }] }, { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` } })
      .withResponse();
    expect(data.choices[0]!.message.content).toBeTruthy();
    expect(response.headers.get("x-gateway-trace-id")).toBe(TRACE_ID);
    expect(response.headers.get("x-gateway-attempts")).toBe("2");

    // Each upstream attempt received the client's trace, with a span id of its own.
    const sent = [...upstream.requests(first), ...upstream.requests(second)].map((r) => r.headers["traceparent"]);
    expect(sent).toEqual([
      expect.stringMatching(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`)),
      expect.stringMatching(new RegExp(`^00-${TRACE_ID}-[0-9a-f]{16}-01$`)),
    ]);
    const upstreamParents = sent.map((tp) => tp!.split("-")[2]);
    expect(new Set(upstreamParents).size).toBe(2);

    const inTrace = () => collector.spans().filter((s) => s.traceId === TRACE_ID);
    const spans = await eventually(async () => {
      const s = inTrace();
      return s.some((x) => x.service === "gateway") && s.filter((x) => x.service === "model-proxy").length >= 2 ? s : null;
    });
    const gateway = spans.filter((s) => s.service === "gateway");
    expect(gateway).toHaveLength(1);
    const server = gateway[0]!;
    expect(server).toMatchObject({
      parentSpanId: CLIENT_SPAN,
      kind: 2,
      name: "POST /v1/chat/completions",
      status: { code: 1 },
      attributes: expect.objectContaining({
        "http.request.method": "POST",
        "http.response.status_code": 200,
        "gateway.request_id": response.headers.get("x-request-id"),
        "gateway.attempts": 2,
        "gateway.provider": "trace-secondary",
        "gen_ai.response.model": second,
      }),
    });
    expect(server.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(Number(BigInt(server.endTimeUnixNano) >= BigInt(server.startTimeUnixNano))).toBe(1);

    const attempts = spans.filter((s) => s.service === "model-proxy").sort((a, b) => a.startTimeUnixNano.localeCompare(b.startTimeUnixNano));
    expect(attempts).toHaveLength(2);
    const byModel = (m: string) => attempts.find((a) => a.attributes["gen_ai.request.model"] === m) as CollectedSpan;
    expect(byModel(first)).toMatchObject({
      parentSpanId: server.spanId,
      kind: 3,
      name: `chat ${first}`,
      status: { code: 2 },
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": first,
        "http.response.status_code": 500,
        "error.type": "upstream_error",
        "gateway.request_id": response.headers.get("x-request-id"),
        "gateway.provider": "trace-primary",
      },
    });
    expect(byModel(second)).toMatchObject({
      parentSpanId: server.spanId,
      kind: 3,
      name: `chat ${second}`,
      status: { code: 1 },
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "openai",
        "gen_ai.request.model": second,
        "gen_ai.response.model": second,
        "http.response.status_code": 200,
        "gateway.request_id": response.headers.get("x-request-id"),
        "gateway.provider": "trace-secondary",
      },
    });
    // The upstream was told exactly the attempt spans the collector has.
    expect(upstreamParents.sort()).toEqual(attempts.map((a) => a.spanId).sort());
    expect(collector.rejected()).toEqual([]);

    // Nothing exported holds the prompt, the tenant's API key or the provider key.
    const exported = collector.bodies().join("\n");
    for (const secret of [PROMPT, tenant.apiKey, upstream.apiKey]) expect(exported).not.toContain(secret);
  });

  it("an untraced request starts a trace of its own: the gateway span has no parent, its attempt is its child", async () => {
    const model = uniqueModel("trace-plain");
    const { response } = await tenant.client.chat.completions
      .create({ model: `trace-primary/${model}`, messages: [{ role: "user", content: "hi" }] })
      .withResponse();
    const traceId = response.headers.get("x-gateway-trace-id")!;
    expect(traceId).toMatch(/^[0-9a-f]{32}$/);
    expect(upstream.requests(model)[0]!.headers["traceparent"]).toMatch(new RegExp(`^00-${traceId}-[0-9a-f]{16}-01$`));
    const spans = await eventually(async () => {
      const s = collector.spans().filter((x) => x.traceId === traceId);
      return s.length >= 2 ? s : null;
    });
    const server = spans.find((s) => s.service === "gateway")!;
    expect(server.parentSpanId).toBeNull();
    expect(spans.filter((s) => s.service === "model-proxy").map((s) => [s.parentSpanId, s.attributes["gen_ai.request.model"]])).toEqual([
      [server.spanId, model],
    ]);
  });
});
