import { describe, expect, it } from "vitest";
import { readBoundedBytes } from "./bounded-body";

const enc = new TextEncoder();

/** A body of `pieces` chunks of `size` bytes, without a length; counts the chunks pulled. */
function chunked(pieces: number, size: number) {
  let pulled = 0;
  const body = new ReadableStream<Uint8Array>({
    pull(c) {
      if (pulled === pieces) return c.close();
      pulled++;
      c.enqueue(new Uint8Array(size).fill(97));
    },
  });
  return { res: new Response(body), pulled: () => pulled };
}

describe("readBoundedBytes", () => {
  it("reads a body within the limit whole, declared or chunked", async () => {
    expect(new TextDecoder().decode((await readBoundedBytes(new Response('{"a":1}'), 100))!)).toBe('{"a":1}');
    const { res } = chunked(3, 10);
    expect((await readBoundedBytes(res, 30))!.byteLength).toBe(30);
  });

  it("refuses a declared length above the limit without reading it", async () => {
    const res = new Response(enc.encode("x".repeat(101)), { headers: { "content-length": "101" } });
    expect(await readBoundedBytes(res, 100)).toBeNull();
  });

  it("stops reading a chunked body as soon as it passes the limit", async () => {
    const { res, pulled } = chunked(1000, 10);
    expect(await readBoundedBytes(res, 50)).toBeNull();
    expect(pulled()).toBeLessThan(10);
  });
});
