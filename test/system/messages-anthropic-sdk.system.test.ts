import Anthropic from "@anthropic-ai/sdk";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import anthropicText from "../fixtures/anthropic/message-text.json";
import anthropicTools from "../fixtures/anthropic/message-tool-use.json";
import chatText from "../fixtures/openai/chat-text.json";
import chatTools from "../fixtures/openai/chat-tools.json";
import { estimateMessagesPromptTokens } from "../../workers/shared/src/anthropic";
import { ANTHROPIC_FAKE_KEY, fakeTokenCount } from "../fake-upstream/anthropic";
import { GOOGLE_FAKE_KEY } from "../fake-upstream/google";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { uniqueModel } from "../support/names";
import { usageRow } from "../support/stores";
import { startStack, type Stack } from "../support/stack";
import { anthropicClient, anthropicClientFor } from "../support/clients";
import { gatewayFetch } from "../support/fetch";

/**
 * Issue 6, "must show": the official `@anthropic-ai/sdk` against the gateway's `/v1/messages` —
 * `messages.create` and `messages.stream` — through an Anthropic upstream (passed through) and
 * through an OpenAI-compatible upstream (translated), with Anthropic's error shapes.
 */

let stack: Stack;
let upstream: FakeUpstream;
const BROWSER_ORIGIN = "https://console.example.com";
beforeAll(async () => {
  upstream = await startFakeUpstream();
  const providers = [
    { name: "claude", type: "anthropic", base_url: upstream.url, timeout_ms: 20_000 },
    { name: "oai", type: "openai", base_url: upstream.url, timeout_ms: 20_000 },
    { name: "vllm", type: "vllm", base_url: upstream.compatUrl, timeout_ms: 20_000 },
    { name: "gemini", type: "google", base_url: upstream.url.replace(/\/v1$/, "/v1beta"), timeout_ms: 20_000 },
  ];
  const keys = { claude: ANTHROPIC_FAKE_KEY, oai: upstream.apiKey, vllm: upstream.apiKey, gemini: GOOGLE_FAKE_KEY };
  stack = await startStack({
    vars: {
      "model-proxy": { PLATFORM_PROVIDERS: JSON.stringify(providers), PLATFORM_PROVIDER_KEYS: JSON.stringify(keys) },
      // CORS for one origin (issue 19); the SDKs here send no Origin, so nothing else sees it.
      gateway: { CORS_ALLOWED_ORIGINS: BROWSER_ORIGIN },
    },
  });
});
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

/** A new tenant's key and an Anthropic client on the gateway: the gateway key is its `x-api-key`. */
const anthropicTenant = (keyBody: Parameters<typeof anthropicClientFor>[1] = {}) => anthropicClientFor(stack, keyBody);

const weatherTool = {
  name: "get_weather",
  description: "Current weather",
  input_schema: { type: "object" as const, properties: { location: { type: "string" } }, required: ["location"] },
};

describe("@anthropic-ai/sdk → Anthropic upstream (native pass-through)", () => {
  it("messages.create returns Anthropic's message as sent; the upstream gets the request with only the model replaced", async () => {
    const { client, apiKey } = await anthropicTenant();
    const model = uniqueModel("claude-native");
    const request = {
      model: `claude/${model}`,
      max_tokens: 1024,
      system: "Answer briefly.",
      messages: [{ role: "user" as const, content: "What is the capital of France?" }],
      metadata: { user_id: "end-user-9" },
    };
    const { data, response } = await client.messages.create(request, { headers: { "anthropic-beta": "context-1m-2025-08-07" } }).withResponse();
    expect(data).toEqual(anthropicText);
    expect(response.headers.get("x-gateway-provider")).toBe("claude");
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);

    const [sent] = upstream.requests(model);
    expect(sent!.path).toBe("/v1/messages");
    expect(sent!.body).toEqual({ ...request, model });
    expect(sent!.headers["x-api-key"]).toBe(ANTHROPIC_FAKE_KEY);
    expect(JSON.stringify(sent)).not.toContain(apiKey);
    // The client's API version and betas reach Anthropic as the SDK sent them.
    expect(sent!.headers["anthropic-beta"]).toBe("context-1m-2025-08-07");
    expect(sent!.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
  });

  it("forwards what Anthropic does not define too (the gateway keeps no list of its fields): Anthropic's own 400 reaches the SDK", async () => {
    const { client } = await anthropicTenant();
    const model = uniqueModel("claude-native-extra");
    // The SDK (API version 2026-10-21) no longer types the sampling fields; that version refuses them.
    const request = { model: `claude/${model}`, max_tokens: 64, messages: [{ role: "user" as const, content: "Hi" }], temperature: 0.2 };
    const err = await client.messages.create(request).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: "temperature: Extra inputs are not permitted" },
    });
    expect(upstream.requests(model)[0]!.body).toMatchObject({ temperature: 0.2 });
  });

  it("messages.stream accumulates the same message, usage included, and meters it", async () => {
    const { client } = await anthropicTenant();
    const model = uniqueModel("claude-native-stream");
    const stream = client.messages.stream({ model: `claude/${model}`, max_tokens: 1024, messages: [{ role: "user", content: "Capital of France?" }] });
    let text = "";
    stream.on("text", (delta) => (text += delta));
    const final = await stream.finalMessage();
    expect(text).toBe(anthropicText.content[0]!.text);
    expect(final.content).toEqual(anthropicText.content);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage).toMatchObject({ input_tokens: 21, output_tokens: 12, cache_read_input_tokens: 2048, cache_creation_input_tokens: 1024 });
    const requestId = (await stream.withResponse()).response.headers.get("x-request-id")!;
    const row = await usageRow(stack, requestId);
    expect(row).toMatchObject({
      operation: "messages",
      provider: "claude",
      model,
      prompt_tokens: 3093,
      completion_tokens: 12,
      cached_tokens: 2048,
      stream: 1,
      upstream_error: 0,
    });
  });

  it("tool use, non-streamed and streamed", async () => {
    const { client } = await anthropicTenant();
    const model = uniqueModel("claude-native-tools");
    const request = { model: `claude/${model}`, max_tokens: 1024, tools: [weatherTool], messages: [{ role: "user" as const, content: "Weather in Paris?" }] };
    const created = await client.messages.create(request);
    expect(created.stop_reason).toBe("tool_use");
    expect(created.content).toEqual(anthropicTools.content);
    const streamed = await client.messages.stream(request).finalMessage();
    expect(streamed.content).toEqual(anthropicTools.content);
    expect(streamed.usage.output_tokens).toBe(created.usage.output_tokens);
  });

  it("upstream errors reach the SDK as its typed errors, mid-stream errors too", async () => {
    const { client } = await anthropicTenant();
    const limited = await client.messages
      .create({ model: `claude/${uniqueModel("c")}-error-429`, max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).headers?.get("retry-after")).toBe("7");
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });

    const stream = client.messages.stream({ model: `claude/${uniqueModel("c")}-midstream-error`, max_tokens: 10, messages: [{ role: "user", content: "x" }] });
    const failure = await stream.finalMessage().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
    expect((failure as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({
      type: "error",
      error: { type: "overloaded_error", message: "Overloaded" },
    });

    const truncated = await client.messages
      .stream({ model: `claude/${uniqueModel("c")}-truncated`, max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .finalMessage()
      .catch((e: unknown) => e);
    expect(truncated).toBeInstanceOf(Anthropic.APIError);
    expect((truncated as Error).message).toContain("broke before it was complete");
  });
});

describe("@anthropic-ai/sdk → OpenAI-compatible upstream (translated)", () => {
  it("messages.create: the upstream gets an OpenAI chat request, the SDK an Anthropic message", async () => {
    const { client } = await anthropicTenant();
    const model = uniqueModel("oai-messages");
    const message = await client.messages.create({
      model: `oai/${model}`,
      max_tokens: 300,
      system: "Answer briefly.",
      messages: [{ role: "user", content: "What is the capital of France?" }],
      stop_sequences: ["END"],
    });
    const completion = chatText.completion;
    expect(message).toMatchObject({
      type: "message",
      role: "assistant",
      model: completion.model,
      content: [{ type: "text", text: completion.choices[0]!.message.content }],
      stop_reason: "end_turn",
    });
    const usage = completion.usage;
    expect(message.usage).toMatchObject({
      input_tokens: usage.prompt_tokens - usage.prompt_tokens_details.cached_tokens,
      cache_read_input_tokens: usage.prompt_tokens_details.cached_tokens,
      output_tokens: usage.completion_tokens,
    });
    const [sent] = upstream.requests(model);
    expect(sent!.path).toBe("/v1/chat/completions");
    expect(sent!.headers["authorization"]).toBe(`Bearer ${upstream.apiKey}`);
    expect(sent!.body).toEqual({
      model,
      max_completion_tokens: 300,
      messages: [
        { role: "system", content: "Answer briefly." },
        { role: "user", content: "What is the capital of France?" },
      ],
      stop: ["END"],
    });
  });

  it("top_k reaches an OpenAI-compatible server as its vendor extension, never OpenAI itself (which refuses it)", async () => {
    const { client } = await anthropicTenant();
    const openaiModel = uniqueModel("oai-messages-top-k");
    const request = { max_tokens: 64, messages: [{ role: "user" as const, content: "Hi" }], top_k: 5 } as const;
    const message = await client.messages.create({ ...request, model: `oai/${openaiModel}` } as never);
    expect(message).toMatchObject({ type: "message", stop_reason: "end_turn" });
    expect(upstream.requests(openaiModel)[0]!.body).not.toHaveProperty("top_k");

    const vllmModel = uniqueModel("vllm-messages-top-k");
    await client.messages.create({ ...request, model: `vllm/${vllmModel}` } as never);
    expect(upstream.requests(vllmModel)[0]!.body).toMatchObject({ top_k: 5 });
  });

  it("messages.stream: Anthropic events from OpenAI chunks, with the same usage as non-streamed", async () => {
    const { client } = await anthropicTenant();
    const model = uniqueModel("oai-messages-stream");
    const request = { model: `oai/${model}`, max_tokens: 300, messages: [{ role: "user" as const, content: "Capital of France?" }] };
    const created = await client.messages.create(request);
    const stream = client.messages.stream(request);
    const names: string[] = [];
    stream.on("streamEvent", (event) => names.push(event.type));
    const final = await stream.finalMessage();
    expect(names[0]).toBe("message_start");
    expect(names.at(-1)).toBe("message_stop");
    expect(final.content).toEqual(created.content);
    expect(final.stop_reason).toBe("end_turn");
    expect(final.usage).toMatchObject({
      input_tokens: created.usage.input_tokens,
      output_tokens: created.usage.output_tokens,
      cache_read_input_tokens: created.usage.cache_read_input_tokens,
    });
    // The gateway asked the OpenAI upstream for stream usage on the client's behalf.
    expect(upstream.requests(model)[1]!.body).toMatchObject({ stream: true, stream_options: { include_usage: true } });
  });

  it("tool use translated both ways, streamed and not; tool results go back as tool messages", async () => {
    const { client } = await anthropicTenant();
    const model = uniqueModel("oai-messages-tools");
    const request = {
      model: `oai/${model}`,
      max_tokens: 300,
      tools: [weatherTool],
      tool_choice: { type: "any" as const },
      messages: [{ role: "user" as const, content: "Weather and time in Paris?" }],
    };
    const created = await client.messages.create(request);
    const calls = chatTools.completion.choices[0]!.message.tool_calls;
    expect(created.stop_reason).toBe("tool_use");
    expect(created.content).toEqual(calls.map((c) => ({ type: "tool_use", id: c.id, name: c.function.name, input: JSON.parse(c.function.arguments) })));
    const streamed = await client.messages.stream(request).finalMessage();
    expect(streamed.content).toEqual(created.content);
    expect(streamed.stop_reason).toBe("tool_use");
    expect(upstream.requests(model)[0]!.body).toMatchObject({
      tools: [{ type: "function", function: { name: "get_weather", description: "Current weather", parameters: weatherTool.input_schema } }],
      tool_choice: "required",
    });

    const next = uniqueModel("oai-messages-tool-result");
    await client.messages.create({
      model: `oai/${next}`,
      max_tokens: 300,
      tools: [weatherTool],
      messages: [
        { role: "user", content: "Weather in Paris?" },
        { role: "assistant", content: [created.content[0]!] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: calls[0]!.id, content: "18C" }] },
      ],
    });
    expect(upstream.requests(next)[0]!.body["messages"]).toEqual([
      { role: "user", content: "Weather in Paris?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: calls[0]!.id, type: "function", function: { name: "get_weather", arguments: calls[0]!.function.arguments } }],
      },
      { role: "tool", tool_call_id: calls[0]!.id, content: "18C" },
    ]);
  });

  it("an upstream error is an Anthropic-shaped error; a broken stream ends in the SDK's error", async () => {
    const { client } = await anthropicTenant();
    const model = uniqueModel("oai-messages-429");
    upstream.on(model, { error: { status: 429, headers: { "retry-after": "3" } } });
    const limited = await client.messages
      .create({ model: `oai/${model}`, max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(Anthropic.RateLimitError);
    expect((limited as InstanceType<typeof Anthropic.RateLimitError>).error).toMatchObject({ type: "error", error: { type: "rate_limit_error" } });

    const broken = uniqueModel("oai-messages-broken");
    upstream.on(broken, { breakAfter: 3 });
    const failure = await client.messages
      .stream({ model: `oai/${broken}`, max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .finalMessage()
      .catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(Anthropic.APIError);
  });

  it("also through a Gemini upstream (Anthropic → OpenAI → Gemini and back)", async () => {
    const { client } = await anthropicTenant();
    const message = await client.messages.create({
      model: `gemini/${uniqueModel("gemini-messages")}`,
      max_tokens: 100,
      messages: [{ role: "user", content: "Capital of France?" }],
    });
    expect(message.content).toEqual([{ type: "text", text: "The capital of France is Paris." }]);
    expect(message.usage).toMatchObject({ input_tokens: 5, cache_read_input_tokens: 4, output_tokens: 37 });
  });
});

describe("/v1/messages errors in Anthropic's shape", () => {
  it("a bad gateway key is the SDK's AuthenticationError", async () => {
    const client = anthropicClient(stack, "sk-test-not-a-real-key");
    const err = await client.messages.create({ model: "claude/x", max_tokens: 10, messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.AuthenticationError);
    expect((err as InstanceType<typeof Anthropic.AuthenticationError>).error).toMatchObject({ type: "error", error: { type: "authentication_error" } });
  });

  it("an invalid request is a BadRequestError naming the field; the upstream is never called", async () => {
    const { client } = await anthropicTenant();
    const model = uniqueModel("invalid");
    const err = await client.messages
      // temperature is deprecated in this SDK's types but still sent by many clients; Anthropic's range is 0–1.
      .create({
        model: `claude/${model}`,
        max_tokens: 10,
        messages: [{ role: "user", content: "x" }],
        temperature: 3,
      } as Anthropic.MessageCreateParamsNonStreaming)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.BadRequestError);
    expect((err as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("temperature") },
    });
    expect(upstream.requests(model)).toHaveLength(0);
  });

  it("a model the key may not use is a PermissionDeniedError; an unknown one a NotFoundError", async () => {
    const { client } = await anthropicTenant({ models: ["oai/*"] });
    const denied = await client.messages
      .create({ model: "claude/anything", max_tokens: 10, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
    const { client: other } = await anthropicTenant();
    const unknown = await other.messages.create({ model: "nobody/model", max_tokens: 10, messages: [{ role: "user", content: "x" }] }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(Anthropic.NotFoundError);
    expect((unknown as InstanceType<typeof Anthropic.NotFoundError>).error).toMatchObject({ error: { type: "not_found_error" } });
  });
});

describe("request-id: the SDK's _request_id (issue 19)", () => {
  it("is the gateway's request id on a message, a stream and an error", async () => {
    const { client } = await anthropicTenant();
    const created = client.messages.create({ model: `claude/${uniqueModel("rid")}`, max_tokens: 16, messages: [{ role: "user", content: "Hi" }] });
    const message = await created;
    const { response } = await created.withResponse();
    expect(message._request_id).toMatch(/^req_/);
    expect(message._request_id).toBe(response.headers.get("x-request-id"));

    const stream = client.messages.stream({ model: `oai/${uniqueModel("rid-stream")}`, max_tokens: 16, messages: [{ role: "user", content: "Hi" }] });
    await stream.finalMessage();
    const streamed = await stream.withResponse();
    expect(stream.request_id).toMatch(/^req_/);
    expect(stream.request_id).toBe(streamed.response.headers.get("x-request-id"));

    const err = await client.messages
      .create({ model: `claude/${uniqueModel("rid")}-error-429`, max_tokens: 16, messages: [{ role: "user", content: "Hi" }] })
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(Anthropic.RateLimitError);
    const failed = err as InstanceType<typeof Anthropic.RateLimitError>;
    expect(failed.requestID).toMatch(/^req_/);
    expect(failed.requestID).toBe(failed.headers?.get("x-request-id"));
  });
});

describe("messages.countTokens (issue 19)", () => {
  const counted = {
    system: "Answer in one word.",
    messages: [
      { role: "user" as const, content: "What is the capital of France?" },
      { role: "assistant" as const, content: "Paris." },
      { role: "user" as const, content: [{ type: "text" as const, text: "And of Italy, please?" }] },
    ],
  };

  it("is exact for an Anthropic provider: the upstream's own count_tokens answers, with only the model replaced", async () => {
    const { client, apiKey } = await anthropicTenant();
    const model = uniqueModel("claude-count");
    const counting = client.messages.countTokens({ model: `claude/${model}`, ...counted });
    const data = await counting;
    const { response } = await counting.withResponse();
    expect(data).toEqual({ input_tokens: fakeTokenCount(counted) });
    expect(data.input_tokens).not.toBe(estimateMessagesPromptTokens(counted));
    expect(data._request_id).toBe(response.headers.get("x-request-id"));
    expect(response.headers.get("x-gateway-token-count")).toBe("exact");
    expect(response.headers.get("x-gateway-provider")).toBe("claude");

    const sent = upstream.requests(model);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.path).toBe("/v1/messages/count_tokens");
    expect(sent[0]!.body).toEqual({ model, ...counted });
    expect(sent[0]!.headers["x-api-key"]).toBe(ANTHROPIC_FAKE_KEY);
    expect(sent[0]!.headers["anthropic-version"]).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(JSON.stringify(sent[0])).not.toContain(apiKey);
  });

  it("is the gateway's documented estimate for an OpenAI provider, which is never called", async () => {
    const { client } = await anthropicTenant();
    const model = uniqueModel("oai-count");
    const counting = client.messages.countTokens({ model: `oai/${model}`, ...counted });
    const data = await counting;
    const { response } = await counting.withResponse();
    expect(data).toEqual({ input_tokens: estimateMessagesPromptTokens(counted) });
    expect(data._request_id).toBe(response.headers.get("x-request-id"));
    expect(response.headers.get("x-gateway-token-count")).toBe("estimate");
    expect(response.headers.get("x-gateway-provider")).toBe("oai");
    expect(upstream.requests(model)).toHaveLength(0);
  });

  it("refuses what a Messages request would refuse, in Anthropic's shape: a bad body, a model the key may not use, an upstream's 400", async () => {
    const { client } = await anthropicTenant({ models: ["claude/*"] });
    const model = uniqueModel("claude-count-bad");
    const empty = await client.messages.countTokens({ model: `claude/${model}`, messages: [] }).catch((e: unknown) => e);
    expect(empty).toBeInstanceOf(Anthropic.BadRequestError);
    expect((empty as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      type: "error",
      error: { type: "invalid_request_error", message: expect.stringContaining("messages") },
    });
    expect(upstream.requests(model)).toHaveLength(0);

    const denied = await client.messages.countTokens({ model: "oai/anything", ...counted }).catch((e: unknown) => e);
    expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);

    // max_tokens belongs to generation: the gateway forwards it, Anthropic refuses it as the strict fake does.
    const extra = await client.messages.countTokens({ model: `claude/${model}`, ...counted, max_tokens: 10 } as never).catch((e: unknown) => e);
    expect(extra).toBeInstanceOf(Anthropic.BadRequestError);
    expect((extra as InstanceType<typeof Anthropic.BadRequestError>).error).toMatchObject({
      error: { type: "invalid_request_error", message: "max_tokens: Extra inputs are not permitted" },
    });
  });
});

describe("404s under /v1/messages are Anthropic-shaped (issue 19)", () => {
  it("an unknown model (messages and countTokens) is a NotFoundError with not_found_error and request-id", async () => {
    const { client } = await anthropicTenant();
    for (const call of [
      () => client.messages.create({ model: "nobody/model", max_tokens: 10, messages: [{ role: "user", content: "x" }] }),
      () => client.messages.countTokens({ model: "nobody/model", messages: [{ role: "user", content: "x" }] }),
    ]) {
      const err = await call().catch((e: unknown) => e);
      expect(err).toBeInstanceOf(Anthropic.NotFoundError);
      const notFound = err as InstanceType<typeof Anthropic.NotFoundError>;
      expect(notFound.error).toMatchObject({ type: "error", error: { type: "not_found_error", message: expect.stringContaining("nobody/model") } });
      expect(notFound.requestID).toMatch(/^req_/);
    }
  });

  it("an unknown route under /v1/messages is Anthropic's 404 body, not OpenAI's", async () => {
    const res = await gatewayFetch(stack, "/v1/messages/batches_nope", { body: {}, headers: { "anthropic-version": "2023-06-01" } });
    expect(res.status).toBe(404);
    const requestId = res.headers.get("x-request-id");
    expect(res.headers.get("request-id")).toBe(requestId);
    expect(await res.json()).toEqual({
      type: "error",
      error: { type: "not_found_error", message: "Unknown route: POST /v1/messages/batches_nope." },
      request_id: requestId,
    });
  });
});

describe("CORS on /v1/messages from a listed origin (issue 19)", () => {
  it("a browser's preflight passes without a key; the answer names the origin and exposes request-id, x-ratelimit-* and x-gateway-*", async () => {
    const pre = await gatewayFetch(stack, "/v1/messages", {
      method: "OPTIONS",
      headers: {
        origin: BROWSER_ORIGIN,
        "access-control-request-method": "POST",
        "access-control-request-headers": "x-api-key,anthropic-version,anthropic-dangerous-direct-browser-access,content-type,x-stainless-lang",
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get("access-control-allow-origin")).toBe(BROWSER_ORIGIN);
    expect(pre.headers.get("access-control-allow-headers")).toBe(
      "x-api-key, anthropic-version, anthropic-dangerous-direct-browser-access, content-type, x-stainless-lang",
    );

    const { apiKey } = await anthropicTenant({ limits: { rpm: 100 } });
    const model = uniqueModel("cors");
    const res = await gatewayFetch(stack, "/v1/messages", {
      body: { model: `claude/${model}`, max_tokens: 16, messages: [{ role: "user", content: "Hi" }] },
      headers: { origin: BROWSER_ORIGIN, "x-api-key": apiKey, "anthropic-version": "2023-06-01" },
    });
    expect(res.status).toBe(200);
    expect(((await res.json()) as { type: string }).type).toBe("message");
    expect(res.headers.get("access-control-allow-origin")).toBe(BROWSER_ORIGIN);
    const exposed = (res.headers.get("access-control-expose-headers") ?? "").split(", ");
    expect(exposed).toEqual(
      expect.arrayContaining([
        "request-id",
        "x-request-id",
        "x-gateway-provider",
        "x-gateway-model",
        "x-ratelimit-limit-requests",
        "x-ratelimit-remaining-requests",
      ]),
    );
    for (const name of exposed) expect(name === "x-client-request-id" || res.headers.has(name)).toBe(true);
    expect(upstream.requests(model)[0]!.headers["origin"]).toBeUndefined();
  });
});
