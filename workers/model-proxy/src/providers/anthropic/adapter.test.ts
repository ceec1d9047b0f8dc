import { describe, expect, it } from "vitest";
import rateLimit from "../../../../../test/fixtures/anthropic/error-429-rate-limit.json";
import text from "../../../../../test/fixtures/anthropic/message-text.json";
import toolStream from "../../../../../test/fixtures/anthropic/stream-tool-use.sse?raw";
import { ApiError } from "../../../../shared/src";
import { adapterFor } from "../index";
import { callContext as ctx, fetchRecorder } from "../adapter-test-utils";
import { assemble, readOpenAISse } from "../translation-test-utils";
import type { ProviderConfig, Target } from "../types";

const provider = (over: Partial<ProviderConfig> = {}): ProviderConfig => ({
  id: "p1",
  name: "claude",
  type: "anthropic",
  baseUrl: "https://api.anthropic.com/v1",
  apiKey: "sk-ant-api03-key",
  headers: { "anthropic-beta": "prompt-caching-2024-07-31" },
  timeoutMs: 30_000,
  models: null,
  ...over,
});
const target = (over: Partial<ProviderConfig> = {}): Target => ({ provider: provider(over), model: "claude-sonnet-4-5-20250929" });

const { calls, stubFetch, sentBody, sentHeaders } = fetchRecorder();
const sent = () => ({ body: sentBody(), headers: sentHeaders() });

describe("Anthropic adapter", () => {
  const adapter = adapterFor("anthropic")!;

  it("is registered for provider type anthropic and serves chat only", () => {
    expect(adapter.supports("chat")).toBe(true);
    expect(adapter.supports("embeddings")).toBe(false);
    expect(adapter.supports("completions")).toBe(false);
  });

  it("posts a Messages request with x-api-key and anthropic-version, and answers an OpenAI completion", async () => {
    stubFetch(() => Response.json(text, { headers: { "request-id": "req_011CSHoEeqs5C35K2UUqR7Fy" } }));
    const res = await adapter.call("chat", { model: "claude/sonnet", messages: [{ role: "user", content: "Capital of France?" }] }, target(), ctx());
    expect(res.headers.get("x-request-id")).toBe("req_011CSHoEeqs5C35K2UUqR7Fy");
    expect(calls[0]!.url).toBe("https://api.anthropic.com/v1/messages");
    const { body, headers } = sent();
    expect(headers.get("x-api-key")).toBe("sk-ant-api03-key");
    expect(headers.get("anthropic-version")).toBe("2023-06-01");
    expect(headers.get("anthropic-beta")).toBe("prompt-caching-2024-07-31");
    expect(headers.get("authorization")).toBeNull();
    expect(body).toEqual({
      model: "claude-sonnet-4-5-20250929",
      max_tokens: 8192,
      messages: [{ role: "user", content: [{ type: "text", text: "Capital of France?" }] }],
    });
    const completion = (await res.json()) as { object: string; choices: { message: { content: string } }[] };
    expect(completion.object).toBe("chat.completion");
    expect(completion.choices[0]!.message.content).toBe("Hello! The capital of France is Paris.");
  });

  it("accepts an SDK-style base URL without /v1", async () => {
    stubFetch(() => Response.json(text));
    await adapter.call("chat", { model: "m", messages: [{ role: "user", content: "x" }] }, target({ baseUrl: "http://127.0.0.1:9999/" }), ctx());
    expect(calls[0]!.url).toBe("http://127.0.0.1:9999/v1/messages");
  });

  it("streams translated chunks with usage when the gateway meters the stream", async () => {
    stubFetch(() => new Response(toolStream, { headers: { "content-type": "text/event-stream" } }));
    const res = await adapter.call(
      "chat",
      { model: "m", stream: true, messages: [{ role: "user", content: "weather?" }], tools: [{ type: "function", function: { name: "get_weather" } }] },
      target(),
      ctx(true),
    );
    expect(sent().body["stream"]).toBe(true);
    expect(res.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    const view = readOpenAISse(await res.text());
    const message = assemble(view.chunks);
    expect(message.finish).toBe("tool_calls");
    expect(message.tools[0]!.name).toBe("get_weather");
    expect(message.usage).toMatchObject({ prompt_tokens: 472, completion_tokens: 89 });
    expect(view.done).toBe(true);
  });

  it("maps an upstream error status before translating anything", async () => {
    stubFetch(() => new Response(JSON.stringify(rateLimit.body), { status: 429, headers: rateLimit.headers }));
    const err = await adapter.call("chat", { model: "m", messages: [{ role: "user", content: "x" }] }, target(), ctx()).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ApiError);
    expect((err as ApiError).status).toBe(429);
    expect((err as ApiError).headers["retry-after"]).toBe("7");
  });

  it("refuses an untranslatable parameter without calling the upstream", async () => {
    stubFetch(() => Response.json(text));
    const err = await adapter.call("chat", { model: "m", messages: [{ role: "user", content: "x" }], n: 3 }, target(), ctx()).catch((e: unknown) => e);
    expect((err as ApiError).param).toBe("n");
    expect(calls).toHaveLength(0);
  });
});
