import { describe, expect, it } from "vitest";
import anthropicText from "../../../../../test/fixtures/anthropic/message-text.json";
import anthropicStream from "../../../../../test/fixtures/anthropic/stream-text.sse?raw";
import geminiStream from "../../../../../test/fixtures/google/stream-function-call.sse?raw";
import chatText from "../../../../../test/fixtures/openai/chat-text.json";
import { SseParser } from "../../../../shared/src";
import { callContext, fetchRecorder } from "../adapter-test-utils";
import { adapterFor } from "../index";
import type { ProviderConfig, ProviderType, Target } from "../types";

const target = (type: ProviderType, baseUrl: string): Target => ({
  provider: { id: "p", name: `${type}-p`, type, baseUrl, apiKey: "provider-key-123456", headers: {}, timeoutMs: 30_000, models: null } satisfies ProviderConfig,
  model: "upstream-model",
});
const ctx = callContext(true);
const request = (extra: Record<string, unknown> = {}) => ({
  model: "client/model",
  max_tokens: 256,
  messages: [{ role: "user", content: "Capital of France?" }],
  ...extra,
});

const { calls, stubFetch, sentBody } = fetchRecorder();

describe("the messages operation on every adapter", () => {
  it("every chat-capable provider type serves messages", () => {
    for (const type of ["anthropic", "google", "openai", "groq", "vllm", "azure-openai"] as const) expect(adapterFor(type)!.supports("messages")).toBe(true);
  });

  it("passes an Anthropic upstream's bytes through untouched (JSON and SSE), with only the model replaced", async () => {
    const raw = JSON.stringify(anthropicText, null, 1);
    stubFetch(() => new Response(raw, { headers: { "content-type": "application/json", "request-id": "req_up_1" } }));
    const res = await adapterFor("anthropic")!.call("messages", request({ top_k: 5 }), target("anthropic", "https://api.anthropic.com/v1"), ctx);
    expect(calls[0]!.url).toBe("https://api.anthropic.com/v1/messages");
    expect(sentBody()).toEqual({ ...request({ top_k: 5 }), model: "upstream-model" });
    expect(new Headers(calls[0]!.init.headers).get("x-api-key")).toBe("provider-key-123456");
    expect(await res.text()).toBe(raw);
    expect(res.headers.get("x-request-id")).toBe("req_up_1");

    stubFetch(() => new Response(anthropicStream, { headers: { "content-type": "text/event-stream; charset=utf-8" } }));
    const streamed = await adapterFor("anthropic")!.call("messages", request({ stream: true }), target("anthropic", "https://api.anthropic.com/v1"), ctx);
    expect(streamed.headers.get("content-type")).toBe("text/event-stream; charset=utf-8");
    expect(await streamed.text()).toBe(anthropicStream);
  });

  it("sends the client's anthropic-version and betas to an Anthropic upstream, with the provider's configured betas", async () => {
    stubFetch(() => Response.json(anthropicText));
    const t = target("anthropic", "https://api.anthropic.com/v1");
    t.provider.headers = { "anthropic-beta": "prompt-caching-2024-07-31" };
    await adapterFor("anthropic")!.call("messages", request(), t, {
      ...ctx,
      clientHeaders: { "anthropic-version": "2026-10-21", "anthropic-beta": "context-1m-2025-08-07" },
    });
    const headers = new Headers(calls[0]!.init.headers);
    expect(headers.get("anthropic-version")).toBe("2026-10-21");
    expect(headers.get("anthropic-beta")).toBe("prompt-caching-2024-07-31,context-1m-2025-08-07");
    // Without client headers the stable version is used.
    await adapterFor("anthropic")!.call("messages", request(), target("anthropic", "https://api.anthropic.com/v1"), ctx);
    expect(new Headers(calls[1]!.init.headers).get("anthropic-version")).toBe("2023-06-01");
  });

  it("translates for an OpenAI upstream: chat request out, Anthropic Message back", async () => {
    stubFetch(() => Response.json(chatText.completion));
    const res = await adapterFor("openai")!.call("messages", request({ system: "Be brief." }), target("openai", "https://api.openai.com/v1"), ctx);
    expect(calls[0]!.url).toBe("https://api.openai.com/v1/chat/completions");
    expect(sentBody()).toEqual({
      model: "upstream-model",
      max_completion_tokens: 256,
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Capital of France?" },
      ],
    });
    const message = (await res.json()) as { type: string; content: { type: string; text: string }[]; stop_reason: string };
    expect(message.type).toBe("message");
    expect(message.content[0]!.text).toBe(chatText.completion.choices[0]!.message.content);
    expect(message.stop_reason).toBe("end_turn");
  });

  it("sends max_tokens to OpenAI-compatible servers (max_completion_tokens only to OpenAI itself)", async () => {
    stubFetch(() => Response.json(chatText.completion));
    await adapterFor("vllm")!.call("messages", request(), target("vllm", "http://127.0.0.1:8000/v1"), ctx);
    expect(sentBody()["max_tokens"]).toBe(256);
    expect(sentBody()["max_completion_tokens"]).toBeUndefined();
  });

  it("chains translations for a Gemini upstream streaming a function call: Anthropic events come out", async () => {
    stubFetch(() => new Response(geminiStream, { headers: { "content-type": "text/event-stream" } }));
    const res = await adapterFor("google")!.call(
      "messages",
      request({ stream: true, tools: [{ name: "get_weather", input_schema: { type: "object" } }] }),
      target("google", "https://generativelanguage.googleapis.com/v1beta"),
      ctx,
    );
    expect(calls[0]!.url).toContain(":streamGenerateContent?alt=sse");
    const parser = new SseParser();
    const events = [...parser.push(await res.text()), ...parser.end()];
    expect(events.map((e) => e.event)).toEqual([
      "message_start",
      "ping",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "content_block_start",
      "content_block_delta",
      "content_block_stop",
      "message_delta",
      "message_stop",
    ]);
    const delta = JSON.parse(events.find((e) => e.event === "message_delta")!.data) as { delta: { stop_reason: string }; usage: Record<string, number> };
    expect(delta.delta.stop_reason).toBe("tool_use");
    expect(delta.usage).toMatchObject({ input_tokens: 61, output_tokens: 78 });
  });
});
