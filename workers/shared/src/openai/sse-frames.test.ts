import { describe, expect, it } from "vitest";
import { lastEventEnd, nextEventEnd, sseErrorEvent } from "./sse-frames";

const bytes = (s: string) => new TextEncoder().encode(s);

describe("SSE byte framing", () => {
  it("finds event ends with LF and CRLF line endings", () => {
    const lf = bytes('data: {"a":1}\n\ndata: {"b":2}\n\n');
    expect(nextEventEnd(lf)).toBe(15);
    expect(nextEventEnd(lf, 15)).toBe(30);
    expect(nextEventEnd(lf, 30)).toBe(-1);
    const crlf = bytes("data: x\r\n\r\ndata: y\r\n\r\n");
    expect(nextEventEnd(crlf)).toBe(11);
    expect(nextEventEnd(crlf, 11)).toBe(22);
  });

  it("does not end an event at a single line break (multi-line events)", () => {
    const buf = bytes("event: x\ndata: 1\ndata: 2\n");
    expect(nextEventEnd(buf)).toBe(-1);
    expect(lastEventEnd(buf)).toBe(-1);
  });

  it("finds the last complete event and leaves an incomplete tail", () => {
    const buf = bytes('data: 1\n\ndata: 2\n\ndata: {"par');
    expect(lastEventEnd(buf)).toBe(18);
    expect(lastEventEnd(bytes("data: 1\r\n\r\ndata: 2\r\n"))).toBe(11);
    expect(lastEventEnd(bytes("data: 1\n\n"))).toBe(9);
  });

  it("renders OpenAI's error object as a data event", () => {
    const text = new TextDecoder().decode(sseErrorEvent({ code: "upstream_error", message: "Provider 'p' broke." }));
    expect(text).toBe('data: {"error":{"message":"Provider \'p\' broke.","type":"upstream_error","param":null,"code":"upstream_error"}}\n\n');
  });
});
