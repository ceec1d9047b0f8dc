import { describe, expect, it } from "vitest";
import { MAX_SSE_EVENT_BYTES } from "../openai";
import { anthropicInspector } from "./anthropic-dialect";
import type { Observation } from "./observation";
import { openAIInspector } from "./openai-dialect";
import { pumpSse, type SseInspector } from "./sse-pump";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** An upstream body fed by the test: push chunks, fail or end it. */
function upstream() {
  let ctrl!: ReadableStreamDefaultController<Uint8Array>;
  let cancelled: unknown = undefined;
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      ctrl = c;
    },
    cancel(reason) {
      cancelled = reason ?? "cancelled";
    },
  });
  return { body, push: (s: string) => ctrl.enqueue(enc.encode(s)), end: () => ctrl.close(), fail: (e: Error) => ctrl.error(e), cancelled: () => cancelled };
}

/** The pump with `inspector`; `ends` counts the calls of `onEnd` (exactly once, always). */
function pump(body: ReadableStream<Uint8Array>, inspector: SseInspector = openAIInspector({ stripUsageChunk: false }), idleTimeoutMs?: number) {
  const ends: Observation[] = [];
  const stream = pumpSse(body, { inspector, provider: "acme", onEnd: (o) => ends.push(o), ...(idleTimeoutMs ? { idleTimeoutMs } : {}) });
  return { stream, ends };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string> {
  let out = "";
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out += dec.decode(value);
  }
}

const finished = 'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\n\n';

describe("pumpSse", () => {
  it("passes whole events through as they come and holds only an incomplete event", async () => {
    const up = upstream();
    const { stream, ends } = pump(up.body);
    const reader = stream.getReader();
    up.push("data: 1\n\n");
    expect(dec.decode((await reader.read()).value)).toBe("data: 1\n\n");
    up.push('data: 2\n\ndata: {"par');
    expect(dec.decode((await reader.read()).value)).toBe("data: 2\n\n");
    up.push('tial":1}\n\n');
    expect(dec.decode((await reader.read()).value)).toBe('data: {"partial":1}\n\n');
    up.push(finished + "data: [DONE]\n\n");
    up.end();
    expect(dec.decode((await reader.read()).value)).toBe(finished + "data: [DONE]\n\n");
    expect((await reader.read()).done).toBe(true);
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ upstreamError: false, aborted: false });
  });

  it("ends a broken stream with the dialect's error event, dropping the half event before it, and ends once", async () => {
    const up = upstream();
    const { stream, ends } = pump(up.body);
    const out = readAll(stream);
    up.push('data: 1\n\ndata: {"cut');
    await Promise.resolve();
    up.fail(new Error("connection reset"));
    expect(await out).toBe(
      'data: 1\n\ndata: {"error":{"message":"The stream from provider \'acme\' broke before it was complete.","type":"upstream_error","param":null,"code":"upstream_error"}}\n\n',
    );
    expect(ends).toHaveLength(1);
    expect(ends[0]!.upstreamError).toBe(true);
  });

  it("ends an Anthropic stream whose upstream goes silent with Anthropic's timeout error event and cancels the upstream", async () => {
    const up = upstream();
    const { stream, ends } = pump(up.body, anthropicInspector(), 20);
    const out = readAll(stream);
    up.push('event: ping\ndata: {"type":"ping"}\n\n');
    expect(await out).toBe(
      'event: ping\ndata: {"type":"ping"}\n\n' +
        `event: error\ndata: {"type":"error","error":{"type":"timeout_error","message":"Provider 'acme' stopped sending for 20 ms; the stream was ended."}}\n\n`,
    );
    expect(ends).toHaveLength(1);
    expect(ends[0]).toMatchObject({ upstreamError: true, aborted: false });
    expect(up.cancelled()).toBeDefined();
  });

  it("ends a stream whose event grows past MAX_SSE_EVENT_BYTES with an error event and cancels the upstream", async () => {
    const up = upstream();
    const { stream, ends } = pump(up.body);
    const out = readAll(stream);
    up.push("data: 1\n\ndata: ");
    const piece = "x".repeat(64 * 1024);
    for (let i = 0; i <= MAX_SSE_EVENT_BYTES / piece.length; i++) up.push(piece);
    const text = await out;
    expect(text.startsWith("data: 1\n\n")).toBe(true);
    expect(text.slice("data: 1\n\n".length)).toMatch(/^data: \{"error":\{"message":"An event in the stream from provider 'acme' grew past 1048576 bytes/);
    expect(ends).toHaveLength(1);
    expect(up.cancelled()).toBeDefined();
  });

  it("cancels the upstream when the reader goes away, and ends once", async () => {
    const up = upstream();
    const { stream, ends } = pump(up.body);
    const reader = stream.getReader();
    up.push("data: 1\n\n");
    await reader.read();
    await reader.cancel("client gone");
    expect(up.cancelled()).toBe("client gone");
    expect(ends).toHaveLength(1);
    expect(ends[0]!.aborted).toBe(true);
  });
});
