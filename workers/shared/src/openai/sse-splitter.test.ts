import { describe, expect, it } from "vitest";
import { SseEventSplitter } from "./sse-splitter";

const enc = new TextEncoder();
const dec = new TextDecoder();

/** Feeds `pieces` and returns the runs as text, "|" between runs; null once the splitter refused. */
function split(pieces: string[], limit?: number): { runs: string[]; rest: string | null; refused: boolean } {
  const s = new SseEventSplitter(limit);
  const runs: string[] = [];
  for (const p of pieces) {
    const out = s.push(enc.encode(p));
    if (out === null) return { runs, rest: null, refused: true };
    runs.push(...out.map((r) => dec.decode(r)));
  }
  const rest = s.rest();
  return { runs, rest: rest && dec.decode(rest), refused: false };
}

describe("SseEventSplitter", () => {
  it("passes chunks that end on an event boundary as they are", () => {
    const chunk = enc.encode("data: a\n\ndata: b\n\n");
    expect(new SseEventSplitter().push(chunk)![0]).toBe(chunk);
  });

  it("holds an incomplete event until its end arrives, in any chunking", () => {
    expect(split(["data: a\n\ndata: b", "c\n", "\ndata: d\n\nda"])).toEqual({
      runs: ["data: a\n\n", "data: bc\n\n", "data: d\n\n"],
      rest: "da",
      refused: false,
    });
    // The blank line split across chunks, LF and CRLF alike.
    expect(split(["data: a\n", "\n"]).runs).toEqual(["data: a\n\n"]);
    expect(split(["data: a\r\n", "\r\n"]).runs).toEqual(["data: a\r\n\r\n"]);
    expect(split(["data: a\r\n\r", "\n"]).runs).toEqual(["data: a\r\n\r\n"]);
    expect(split(["data: a\n", "\r", "\n"]).runs).toEqual(["data: a\n\r\n"]);
  });

  it("refuses an event that grows past the limit without ending", () => {
    expect(split(["data: ", "x".repeat(50), "x".repeat(50)], 100).refused).toBe(true);
    expect(split(["data: ", "x".repeat(50), "\n\n"], 100).refused).toBe(false);
  });

  it("searches each byte of a long event a bounded number of times, not once per chunk", () => {
    const s = new SseEventSplitter();
    const piece = enc.encode("x".repeat(100));
    s.push(enc.encode("data: "));
    for (let i = 0; i < 5000; i++) expect(s.push(piece)).toEqual([]);
    expect(s.push(enc.encode("\n\n"))!.map((r) => r.byteLength)).toEqual([6 + 500_000 + 2]);
    // 500 kB arrived in 5000 chunks: re-scanning the held bytes each time would search ~1.25 GB.
    expect(s.scanned).toBeLessThanOrEqual(2 * 500_010);
  });
});
