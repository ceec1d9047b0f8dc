import { afterEach, beforeAll, describe, expect, it, vi } from "vitest";
import { ok, type ProxyRequest } from "../../../shared/src";
import type { ProviderConfig } from "../providers/types";
import type { ModelRegistry } from "../registry";
import { StaticRegistry } from "../registry/static";
import { testPrincipal } from "../test-support/principal";
import { dispatch } from "./dispatcher";

let principal: Awaited<ReturnType<typeof testPrincipal>>;
beforeAll(async () => {
  principal = await testPrincipal();
});
afterEach(() => vi.unstubAllGlobals());

const provider = (name: string, over: Partial<ProviderConfig> = {}): ProviderConfig => ({
  id: name,
  name,
  type: "openai",
  baseUrl: `https://${name}.test/v1`,
  apiKey: `sk-${name}-secret-key`,
  headers: {},
  timeoutMs: 5_000,
  models: null,
  ...over,
});
const registryOf = (...providers: ProviderConfig[]): (() => ModelRegistry) => {
  const r = new StaticRegistry(providers);
  return () => r;
};
const request = (body: Record<string, unknown>, operation: ProxyRequest["operation"] = "chat"): ProxyRequest => ({
  principalToken: principal.token,
  requestId: "req_test_1",
  operation,
  body: { messages: [{ role: "user", content: "hi" }], ...body },
});
const env = () => ({ PRINCIPAL_VERIFY_JWK: principal.verifyJwk });

let seen: { url: string; body: Record<string, unknown> }[] = [];
function stubFetch(answer: (url: string, init: RequestInit) => Response | Promise<Response>) {
  seen = [];
  vi.stubGlobal("fetch", async (url: string, init: RequestInit) => {
    seen.push({ url, body: JSON.parse(String(init.body)) });
    return answer(url, init);
  });
}

describe("dispatch", () => {
  it("answers with the upstream body and gateway headers, dropping the upstream's own headers", async () => {
    stubFetch(() =>
      Response.json({ id: "chatcmpl-1" }, { headers: { "openai-organization": "org-secret", "x-ratelimit-remaining-requests": "9", "x-request-id": "up-1" } }),
    );
    const res = await dispatch(request({ model: "acme/gpt-4o" }), env(), registryOf(provider("acme")));
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ id: "chatcmpl-1" });
    expect(Object.fromEntries(res.headers)).toEqual({
      "content-type": "application/json",
      "x-gateway-provider": "acme",
      "x-gateway-model": "gpt-4o",
      "x-gateway-attempts": "1",
      "x-gateway-upstream-request-id": "up-1",
      // LiteLLM's names: the model group asked for, and the deployment (provider/model without an id).
      "x-litellm-model-group": "acme/gpt-4o",
      "x-litellm-model-id": "acme/gpt-4o",
    });
    expect(seen[0]!.body["model"]).toBe("gpt-4o");
  });

  it("refuses a request whose principal token does not verify", async () => {
    stubFetch(() => Response.json({ id: "chatcmpl-1" }));
    const other = await testPrincipal();
    const res = await dispatch({ ...request({ model: "acme/x" }), principalToken: other.token }, env(), registryOf(provider("acme")));
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ error: { type: "authentication_error" } });
    expect(seen).toHaveLength(0);
  });

  it("answers 404 model_not_found for an unknown model", async () => {
    const res = await dispatch(request({ model: "nope/x" }), env(), registryOf(provider("acme", { models: ["a"] })));
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ error: { code: "model_not_found", param: "model" } });
  });

  it("rejects a malformed proxy request with 400", async () => {
    const res = await dispatch({ requestId: "r", operation: "chat", body: {} }, env(), registryOf());
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: { type: "invalid_request_error" } });
  });

  it("forces stream usage only when the client did not ask for it", async () => {
    stubFetch(() => new Response("data: [DONE]\n\n", { headers: { "content-type": "text/event-stream" } }));
    await (await dispatch(request({ model: "acme/m", stream: true }), env(), registryOf(provider("acme")))).text();
    expect(seen[0]!.body["stream_options"]).toEqual({ include_usage: true });
    await (await dispatch(request({ model: "acme/m", stream: true, stream_options: { include_usage: false } }), env(), registryOf(provider("acme")))).text();
    expect(seen[1]!.body["stream_options"]).toEqual({ include_usage: true });
    await (await dispatch(request({ model: "acme/m", stream: false }), env(), registryOf(provider("acme")))).text();
    expect(seen[2]!.body["stream_options"]).toBeUndefined();
  });

  it("answers 504 when the provider does not answer in time", async () => {
    stubFetch((_url, init) => new Promise((_, reject) => init.signal!.addEventListener("abort", () => reject(init.signal!.reason))));
    const res = await dispatch(request({ model: "slow/m" }), env(), registryOf(provider("slow", { timeoutMs: 30 })));
    expect(res.status).toBe(504);
    expect(await res.json()).toMatchObject({ error: { code: "upstream_timeout", type: "timeout_error" } });
    expect(res.headers.get("x-gateway-provider")).toBe("slow");
  });

  it("answers 502 when the provider cannot be reached", async () => {
    stubFetch(() => {
      throw new TypeError("connect ECONNREFUSED");
    });
    const res = await dispatch(request({ model: "down/m" }), env(), registryOf(provider("down")));
    expect(res.status).toBe(502);
    expect((await res.json()) as unknown).toMatchObject({ error: { code: "upstream_error", message: expect.stringContaining("down") } });
  });

  it("falls back to the next target on a retryable failure, but not on a 400", async () => {
    const a = provider("a");
    const b = provider("b");
    const registry: () => ModelRegistry = () => ({
      resolve: async () =>
        ok({
          targets: [
            { provider: a, model: "m" },
            { provider: b, model: "m" },
          ],
          retriesPerTarget: 1,
        }),
      list: async () => [],
    });
    stubFetch((url) => (url.includes("a.test") ? Response.json({ error: { message: "overloaded" } }, { status: 503 }) : Response.json({ from: "b" })));
    const res = await dispatch(request({ model: "alias" }), env(), registry);
    expect(await res.json()).toEqual({ from: "b" });
    expect(res.headers.get("x-gateway-attempts")).toBe("3");
    expect(res.headers.get("x-gateway-provider")).toBe("b");

    stubFetch(() => Response.json({ error: { message: "bad n", param: "n" } }, { status: 400 }));
    const bad = await dispatch(request({ model: "alias" }), env(), registry);
    expect(bad.status).toBe(400);
    expect(seen).toHaveLength(1);
  });

  it("cancels the upstream body when the gateway's pump cancels its reader (client gone, idle timeout)", async () => {
    let upstreamCancelled = false;
    stubFetch(
      () =>
        new Response(
          new ReadableStream<Uint8Array>({
            start: (c) => c.enqueue(new TextEncoder().encode('data: {"choices":[]}\n\n')),
            cancel: () => void (upstreamCancelled = true),
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    const res = await dispatch(request({ model: "acme/m", stream: true }), env(), registryOf(provider("acme", { timeoutMs: 1234 })));
    // The gateway's pump supervises every stream; it learns the provider's idle timeout from here.
    expect(res.headers.get("x-gateway-idle-timeout-ms")).toBe("1234");
    const reader = res.body!.getReader();
    await reader.read();
    expect(upstreamCancelled).toBe(false);
    await reader.cancel();
    expect(upstreamCancelled).toBe(true);
  });

  it("streams to a normal end without cancelling or aborting the upstream", async () => {
    let upstreamCancelled = false;
    let signal: AbortSignal | undefined;
    stubFetch(
      (_url, init) =>
        (signal = init.signal!) &&
        new Response(
          new ReadableStream<Uint8Array>({
            start(c) {
              c.enqueue(new TextEncoder().encode("data: 1\n\n"));
              c.enqueue(new TextEncoder().encode("data: [DONE]\n\n"));
              c.close();
            },
            cancel() {
              upstreamCancelled = true;
            },
          }),
          { headers: { "content-type": "text/event-stream" } },
        ),
    );
    const res = await dispatch(request({ model: "acme/m", stream: true }), env(), registryOf(provider("acme")));
    expect(await res.text()).toBe("data: 1\n\ndata: [DONE]\n\n");
    expect(upstreamCancelled).toBe(false);
    expect(signal!.aborted).toBe(false);
  });
});
