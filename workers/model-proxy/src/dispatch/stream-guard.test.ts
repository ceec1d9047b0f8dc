import { describe, expect, it } from "vitest";
import { MAX_SSE_EVENT_BYTES } from "../../../shared/src/openai";
import { guardStream, type StreamGuardOptions } from "./stream-guard";

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

function options(over: Partial<StreamGuardOptions> = {}) {
  const aborted: unknown[] = [];
  const opts: StreamGuardOptions = {
    idleTimeoutMs: 10_000,
    timeoutError: () => ({ code: "upstream_timeout", message: "idle" }),
    brokenError: () => ({ code: "upstream_error", message: "broke" }),
    eventTooLargeError: () => ({ code: "upstream_error", message: "too large" }),
    abortUpstream: (r) => aborted.push(r),
    ...over,
  };
  return { opts, aborted };
}

async function readAll(stream: ReadableStream<Uint8Array>): Promise<string[]> {
  const out: string[] = [];
  const reader = stream.getReader();
  for (;;) {
    const { done, value } = await reader.read();
    if (done) return out;
    out.push(dec.decode(value));
  }
}

describe("guardStream", () => {
  it("passes whole events through as they come and holds only an incomplete event", async () => {
    const up = upstream();
    const reader = guardStream(up.body, options().opts).getReader();
    up.push("data: 1\n\n");
    expect(dec.decode((await reader.read()).value)).toBe("data: 1\n\n");
    up.push('data: 2\n\ndata: {"par');
    expect(dec.decode((await reader.read()).value)).toBe("data: 2\n\n");
    up.push('tial":1}\n\n');
    expect(dec.decode((await reader.read()).value)).toBe('data: {"partial":1}\n\n');
    up.end();
    expect((await reader.read()).done).toBe(true);
  });

  it("ends a broken stream with an error event, dropping the half event before it", async () => {
    const up = upstream();
    const { opts, aborted } = options();
    const out = readAll(guardStream(up.body, opts));
    up.push('data: 1\n\ndata: {"cut');
    await new Promise((r) => setTimeout(r, 5));
    up.fail(new Error("connection reset"));
    const text = (await out).join("");
    expect(text).toBe('data: 1\n\ndata: {"error":{"message":"broke","type":"upstream_error","param":null,"code":"upstream_error"}}\n\n');
    expect(aborted).toHaveLength(1);
  });

  it("ends a silent stream with a timeout error event and aborts the upstream", async () => {
    const up = upstream();
    const { opts, aborted } = options({ idleTimeoutMs: 20 });
    const out = readAll(guardStream(up.body, opts));
    up.push("data: 1\n\n");
    const text = (await out).join("");
    expect(text).toContain("data: 1\n\n");
    expect(text).toContain('"code":"upstream_timeout"');
    expect(aborted).toHaveLength(1);
    expect(up.cancelled()).toBeDefined();
  });

  it("ends a stream whose event grows past MAX_SSE_EVENT_BYTES with an error event and aborts the upstream", async () => {
    const up = upstream();
    const { opts, aborted } = options();
    const out = readAll(guardStream(up.body, opts));
    up.push("data: 1\n\ndata: ");
    const piece = "x".repeat(64 * 1024);
    for (let i = 0; i <= MAX_SSE_EVENT_BYTES / piece.length; i++) up.push(piece);
    const text = (await out).join("");
    expect(text).toBe('data: 1\n\ndata: {"error":{"message":"too large","type":"upstream_error","param":null,"code":"upstream_error"}}\n\n');
    expect(aborted).toHaveLength(1);
    expect(up.cancelled()).toBeDefined();
  });

  it("cancels the upstream when the reader goes away", async () => {
    const up = upstream();
    const { opts, aborted } = options();
    const reader = guardStream(up.body, opts).getReader();
    up.push("data: 1\n\n");
    await reader.read();
    await reader.cancel("client gone");
    expect(up.cancelled()).toBe("client gone");
    expect(aborted).toEqual(["client gone"]);
  });
});
