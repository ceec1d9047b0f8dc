import { describe, expect, it } from "vitest";
import { formatSse, SseEventTooLargeError, SseParser, sseEvents, type SseEvent } from "./sse";

async function decodeAll(chunks: string[]): Promise<SseEvent[]> {
  const enc = new TextEncoder();
  const body = new ReadableStream<Uint8Array>({
    start(c) {
      for (const chunk of chunks) c.enqueue(enc.encode(chunk));
      c.close();
    },
  });
  const out: SseEvent[] = [];
  for await (const e of body.pipeThrough(sseEvents())) out.push(e);
  return out;
}

describe("SSE decoding", () => {
  it("reads named events split anywhere across chunks", async () => {
    const wire = 'event: message_start\ndata: {"a":1}\n\nevent: ping\ndata: {"type": "ping"}\n\n';
    const split = wire.split("");
    const events = await decodeAll(split);
    expect(events).toEqual([
      { event: "message_start", data: '{"a":1}', id: null },
      { event: "ping", data: '{"type": "ping"}', id: null },
    ]);
  });

  it("accepts CRLF and CR line endings (Gemini sends CRLF), even when CRLF straddles chunks", async () => {
    const events = await decodeAll(['data: {"x":1}\r', "\n\r\n", 'data: {"x":2}\r\r']);
    expect(events.map((e) => e.data)).toEqual(['{"x":1}', '{"x":2}']);
    expect(events[0]!.event).toBeNull();
  });

  it("joins multi-line data, ignores comments and dispatches a final event without a blank line", async () => {
    const events = await decodeAll([": keep-alive\n", "data: line1\ndata: line2\n\n", "data: last"]);
    expect(events.map((e) => e.data)).toEqual(["line1\nline2", "last"]);
  });

  it("decodes multi-byte UTF-8 split between chunks", async () => {
    const bytes = new TextEncoder().encode('data: {"t":"héllo 🌍"}\n\n');
    const body = new ReadableStream<Uint8Array>({
      start(c) {
        for (const b of bytes) c.enqueue(new Uint8Array([b]));
        c.close();
      },
    });
    const out: SseEvent[] = [];
    for await (const e of body.pipeThrough(sseEvents())) out.push(e);
    expect(JSON.parse(out[0]!.data)).toEqual({ t: "héllo 🌍" });
  });

  it("round-trips what formatSse writes, multi-line data included", () => {
    const parser = new SseParser();
    const events = parser.push(formatSse("a\nb", "error") + formatSse("{}"));
    expect(events).toEqual([
      { event: "error", data: "a\nb", id: null },
      { event: null, data: "{}", id: null },
    ]);
  });

  it("cuts an event that grows past its limit without ending, in one line or in many", () => {
    const long = new SseParser(100);
    long.push("data: ");
    expect(() => long.push("x".repeat(101))).toThrow(SseEventTooLargeError);
    const many = new SseParser(100);
    expect(() => {
      for (let i = 0; i < 20; i++) many.push("data: xxxxxxxxxx\n");
    }).toThrow(SseEventTooLargeError);
    // Events under the limit, however many, pass.
    const fine = new SseParser(100);
    for (let i = 0; i < 100; i++) expect(fine.push("data: xxxxxxxxxx\n\n")).toHaveLength(1);
  });
});
