import { describe, expect, it } from "vitest";
import { ApiError } from "../../../shared/src";
import { readJsonBody } from "./body";
import { MAX_JSON_DEPTH } from "./json-depth";

const req = (body: BodyInit | null, headers: Record<string, string> = { "content-type": "application/json" }) =>
  new Request("http://gw/v1/chat/completions", { method: "POST", body, headers });
const codeOf = async (p: Promise<unknown>) => ((await p.catch((e: unknown) => e)) as ApiError).code;

describe("readJsonBody", () => {
  it("parses a JSON object (charset and +json types accepted)", async () => {
    expect(await readJsonBody(req('{"a":1}'), {})).toEqual({ a: 1 });
    expect(await readJsonBody(req('{"a":1}', { "content-type": "application/json; charset=utf-8" }), {})).toEqual({ a: 1 });
    expect(await readJsonBody(req('{"a":1}', { "content-type": "application/vnd.api+json" }), {})).toEqual({ a: 1 });
  });

  it("refuses other content types with 415", async () => {
    expect(await codeOf(readJsonBody(req("a=1", { "content-type": "application/x-www-form-urlencoded" }), {}))).toBe("unsupported_media_type");
    expect(await codeOf(readJsonBody(req("{}", {}), {}))).toBe("unsupported_media_type");
  });

  it("refuses bodies over MAX_BODY_BYTES with 413, declared or streamed", async () => {
    expect(await codeOf(readJsonBody(req('{"a":"0123456789"}'), { MAX_BODY_BYTES: "10" }))).toBe("payload_too_large");
    const chunked = new ReadableStream<Uint8Array>({
      start(c) {
        for (let i = 0; i < 5; i++) c.enqueue(new TextEncoder().encode('{"aaaaaaaa":1}'));
        c.close();
      },
    });
    const streamed = new Request("http://gw/", {
      method: "POST",
      body: chunked,
      headers: { "content-type": "application/json" },
      duplex: "half",
    } as RequestInit);
    expect(await codeOf(readJsonBody(streamed, { MAX_BODY_BYTES: "20" }))).toBe("payload_too_large");
  });

  it("answers malformed JSON with invalid_json and a non-object with invalid_request", async () => {
    expect(await codeOf(readJsonBody(req('{"a":'), {}))).toBe("invalid_json");
    expect(await codeOf(readJsonBody(req(""), {}))).toBe("invalid_json");
    expect(await codeOf(readJsonBody(req("[1]"), {}))).toBe("invalid_request");
    expect(await codeOf(readJsonBody(req("null"), {}))).toBe("invalid_request");
  });

  it("refuses JSON nested deeper than MAX_JSON_DEPTH with 400 invalid_request, before parsing it", async () => {
    const deep = (n: number) => `{"a":${"[".repeat(n - 1)}${"]".repeat(n - 1)}}`;
    expect(await readJsonBody(req(deep(MAX_JSON_DEPTH)), {})).toHaveProperty("a");
    const err = (await readJsonBody(req(deep(MAX_JSON_DEPTH + 1)), {}).catch((e: unknown) => e)) as ApiError;
    expect(err.code).toBe("invalid_request");
    expect(err.status).toBe(400);
    // Refused by the scan, not by the parser: a deep body that is not even valid JSON gets the same answer.
    expect(await codeOf(readJsonBody(req("[".repeat(MAX_JSON_DEPTH + 1)), {}))).toBe("invalid_request");
  });
});
