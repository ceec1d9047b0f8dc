import { describe, expect, it } from "vitest";
import { PROXY_HTTP_HEADERS, proxyEnvelopeOf, proxyHttpRequest, proxyRequestOf } from "./proxy-http";

const body = '{"model":"p/m","messages":[{"role":"user","content":"hi"}],"vendor_extra":{"a":1}}';

describe("a ProxyRequest over HTTP", () => {
  it("decodes to the request that was encoded, with the client's JSON as sent", async () => {
    const encoded = proxyHttpRequest(
      { principalToken: "tok", requestId: "req_1", operation: "messages", headers: { "anthropic-version": "2023-06-01" } },
      body,
    );
    expect(encoded.method).toBe("POST");
    expect(new URL(encoded.url).pathname).toBe("/messages");
    const decoded = await proxyRequestOf(encoded);
    expect(decoded).toEqual({
      ok: true,
      value: { principalToken: "tok", requestId: "req_1", operation: "messages", body: JSON.parse(body), headers: { "anthropic-version": "2023-06-01" } },
    });
  });

  it("has no headers field when no client header was forwarded", async () => {
    const decoded = await proxyRequestOf(proxyHttpRequest({ principalToken: "tok", requestId: "req_1", operation: "chat" }, body));
    expect(decoded.ok && "headers" in decoded.value).toBe(false);
  });

  it("reads the envelope without touching the body", () => {
    const encoded = proxyHttpRequest({ principalToken: "tok", requestId: "req_1", operation: "embeddings" }, body);
    expect(proxyEnvelopeOf(encoded)).toEqual({ ok: true, value: { principalToken: "tok", requestId: "req_1", operation: "embeddings" } });
    expect(encoded.bodyUsed).toBe(false);
  });

  it("refuses an unknown operation, a missing token and a non-POST, naming what is wrong", () => {
    const unknown = proxyEnvelopeOf(
      new Request("https://proxy.internal/images", {
        method: "POST",
        headers: { [PROXY_HTTP_HEADERS.principalToken]: "t", [PROXY_HTTP_HEADERS.requestId]: "r" },
      }),
    );
    expect(unknown).toMatchObject({ ok: false, error: { code: "invalid_request", param: "operation" } });
    const noToken = proxyEnvelopeOf(new Request("https://proxy.internal/chat", { method: "POST", headers: { [PROXY_HTTP_HEADERS.requestId]: "r" } }));
    expect(noToken).toMatchObject({ ok: false, error: { param: "principalToken" } });
    expect(proxyEnvelopeOf(new Request("https://proxy.internal/chat"))).toMatchObject({ ok: false, error: { code: "method_not_allowed" } });
  });

  it("answers invalid_json for a body that is not JSON", async () => {
    const decoded = await proxyRequestOf(proxyHttpRequest({ principalToken: "tok", requestId: "req_1", operation: "chat" }, "{nope"));
    expect(decoded).toMatchObject({ ok: false, error: { code: "invalid_json" } });
  });
});
