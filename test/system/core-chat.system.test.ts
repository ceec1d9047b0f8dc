import { afterAll, beforeAll, describe, expect, it } from "vitest";
import OpenAI from "openai";
import ALL_FIELDS from "../fixtures/openai/chat-request-all-fields.json";
import { base64Of, FIXTURES, vectorFor } from "../fake-upstream/wire.mjs";
import { startCoreStack } from "../fake-upstream/stack";
import { uniqueModel } from "../support/names";
import { usageRow } from "../support/stores";
import type { FakeUpstream } from "../fake-upstream/server";
import { createProvider, providerTenant } from "../support/providers";
import type { Stack } from "../support/stack";
import { gatewayFetch } from "../support/fetch";
import { clientFor } from "../support/clients";

let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startCoreStack());
});
afterAll(() => close?.());

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather",
    parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
  },
};

describe("chat completions (non-streamed)", () => {
  it("returns exactly what the upstream sent, with the provider key upstream and never the gateway key", async () => {
    const { client, apiKey } = await clientFor(stack);
    const model = uniqueModel("chat-text");
    const { data, response } = await client.chat.completions
      .create({ model: `fake/${model}`, messages: [{ role: "user", content: "What is the capital of France?" }] })
      .withResponse();
    expect(data).toEqual(FIXTURES["chat-text"].completion);
    expect(response.headers.get("x-request-id")).toMatch(/^req_/);
    expect(response.headers.get("x-gateway-provider")).toBe("fake");
    expect(response.headers.get("x-gateway-model")).toBe(model);
    const [sent] = upstream.requests(model);
    expect(sent!.path).toBe("/v1/chat/completions");
    expect(sent!.headers["authorization"]).toBe(`Bearer ${upstream.apiKey}`);
    expect(JSON.stringify(sent!.headers)).not.toContain(apiKey);
    expect(JSON.stringify(sent!.body)).not.toContain(apiKey);
    expect(sent!.body).toEqual({ model, messages: [{ role: "user", content: "What is the capital of France?" }] });
  });

  it("passes the upstream's bytes through unchanged (no re-serialisation)", async () => {
    const { apiKey } = await clientFor(stack);
    const model = uniqueModel("chat-bytes");
    const res = await gatewayFetch(stack, "/v1/chat/completions", {
      key: apiKey,
      body: { model: `fake/${model}`, messages: [{ role: "user", content: "hi" }] },
    });
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/json");
    expect(await res.text()).toBe(JSON.stringify(FIXTURES["chat-text"].completion, null, 2));
  });

  it("returns tool calls as the upstream sent them", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("chat-tools");
    const data = await client.chat.completions.create({
      model: `fake/${model}`,
      messages: [{ role: "user", content: "Weather and time in Paris?" }],
      tools: [weatherTool, { type: "function", function: { name: "get_time", parameters: { type: "object", properties: { timezone: { type: "string" } } } } }],
      tool_choice: "auto",
      parallel_tool_calls: true,
    });
    expect(data).toEqual(FIXTURES["chat-tools"].completion);
    expect(data.choices[0]!.message.tool_calls).toHaveLength(2);
    expect(upstream.requests(model)[0]!.body).toMatchObject({ tool_choice: "auto", parallel_tool_calls: true, tools: [weatherTool, expect.anything()] });
  });

  it("supports JSON mode and structured outputs", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("chat-json");
    const data = await client.chat.completions.create({
      model: `fake/${model}`,
      messages: [{ role: "user", content: "Describe Paris as JSON" }],
      response_format: { type: "json_object" },
    });
    expect(data).toEqual(FIXTURES["chat-json"].completion);
    expect(JSON.parse(data.choices[0]!.message.content!)).toEqual({ city: "Paris", country: "France", population: 2102650 });

    const schemaModel = uniqueModel("chat-json-schema");
    const format = {
      type: "json_schema" as const,
      json_schema: {
        name: "city",
        strict: true,
        schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"], additionalProperties: false },
      },
    };
    await client.chat.completions.create({ model: `fake/${schemaModel}`, messages: [{ role: "user", content: "x" }], response_format: format });
    expect(upstream.requests(schemaModel)[0]!.body["response_format"]).toEqual(format);
  });

  // On the tenant's own provider (BYOK): the fixture carries fields the upstream bills beyond
  // tokens (`web_search_options`), which platform providers refuse (billing-upstream-extras tests).
  it("passes every field of OpenAI's chat request through to the upstream (the tenant's own provider)", async () => {
    const { caller, client } = await providerTenant(stack);
    await createProvider(stack, caller, { name: "own-all-fields", type: "openai-compatible", base_url: upstream.url, api_key: upstream.apiKey });
    const model = uniqueModel("chat-all-fields");
    const request = { ...ALL_FIELDS, model: `own-all-fields/${model}`, stream: false, stream_options: undefined };
    delete (request as { stream_options?: unknown }).stream_options;
    await client.chat.completions.create(request as never);
    expect(upstream.requests(model)[0]!.body).toEqual({ ...request, model });
  });

  it("passes vendor extension parameters through to an OpenAI-compatible server (vLLM/OpenRouter style)", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("chat-extensions");
    await client.chat.completions.create({ model: `compat/${model}`, messages: [{ role: "user", content: "x" }], top_k: 40, repetition_penalty: 1.1 } as never);
    expect(upstream.requests(model)[0]!.body).toMatchObject({ top_k: 40, repetition_penalty: 1.1 });
  });

  it("passes them to OpenAI itself too, whose own 400 reaches the client (the gateway keeps no list of OpenAI's fields)", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("chat-extensions-openai");
    const err = await client.chat.completions
      .create({ model: `fake/${model}`, messages: [{ role: "user", content: "x" }], top_k: 40 } as never)
      .catch((e: unknown) => e);
    expect(err).toBeInstanceOf(OpenAI.BadRequestError);
    expect((err as InstanceType<typeof OpenAI.BadRequestError>).error).toMatchObject({
      message: "Unrecognized request argument supplied: top_k",
      type: "invalid_request_error",
    });
    expect(upstream.requests(model)[0]!.body).toMatchObject({ top_k: 40 });
  });

  it("resolves a bare model name through the registry", async () => {
    const { client } = await clientFor(stack);
    const { response } = await client.chat.completions.create({ model: "catalog-chat-1", messages: [{ role: "user", content: "x" }] }).withResponse();
    expect(response.headers.get("x-gateway-provider")).toBe("catalog");
    expect(upstream.requests("catalog-chat-1").at(-1)!.body["model"]).toBe("catalog-chat-1");
  });

  it("meters the request: one usage event with the upstream's token counts lands in billing", async () => {
    const { client, tenant, key } = await clientFor(stack);
    const model = uniqueModel("chat-usage");
    const { response } = await client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "x" }] }).withResponse();
    const row = await usageRow(stack, response.headers.get("x-request-id")!);
    const usage = FIXTURES["chat-text"].usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    expect(row).toMatchObject({
      tenant_id: tenant.id,
      key_id: key.id,
      operation: "chat",
      requested_model: `fake/${model}`,
      provider: "fake",
      model,
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      total_tokens: usage.total_tokens,
      status: 200,
      stream: 0,
      aborted: 0,
      upstream_error: 0,
    });
  });
});

describe("usage details", () => {
  it("records cached and reasoning tokens, from a JSON answer and from a stream's usage chunk", async () => {
    const { client } = await clientFor(stack);
    const usage = FIXTURES["chat-reasoning"].usage as { prompt_tokens: number; completion_tokens: number; total_tokens: number };
    const expected = {
      prompt_tokens: usage.prompt_tokens,
      completion_tokens: usage.completion_tokens,
      total_tokens: usage.total_tokens,
      cached_tokens: 1152,
      reasoning_tokens: 192,
    };

    const model = uniqueModel("reasoning");
    upstream.on(model, { fixture: "chat-reasoning" });
    const { response } = await client.chat.completions
      .create({ model: `fake/${model}`, messages: [{ role: "user", content: "How many r's in strawberry?" }], reasoning_effort: "low" })
      .withResponse();
    expect(await usageRow(stack, response.headers.get("x-request-id")!)).toMatchObject({ ...expected, stream: 0 });

    const streamed = uniqueModel("reasoning-stream");
    upstream.on(streamed, { fixture: "chat-reasoning" });
    const { data: stream, response: streamResponse } = await client.chat.completions
      .create({ model: `fake/${streamed}`, messages: [{ role: "user", content: "x" }], stream: true })
      .withResponse();
    for await (const chunk of stream) expect(chunk.usage).toBeUndefined();
    expect(await usageRow(stack, streamResponse.headers.get("x-request-id")!)).toMatchObject({ ...expected, stream: 1 });
  });
});

describe("completions (legacy)", () => {
  it("returns the upstream's completion", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("completion");
    const data = await client.completions.create({
      model: `fake/${model}`,
      prompt: "Say this is a test",
      max_tokens: 7,
      temperature: 0,
      echo: false,
      suffix: "!",
    });
    expect(data).toEqual(FIXTURES["completion-text"].completion);
    expect(upstream.requests(model)[0]!).toMatchObject({
      path: "/v1/completions",
      body: { model, prompt: "Say this is a test", max_tokens: 7, temperature: 0, echo: false, suffix: "!" },
    });
  });

  it("streams a completion chunk by chunk", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("completion-stream");
    const stream = await client.completions.create({ model: `fake/${model}`, prompt: ["a", "b"], stream: true });
    const chunks = [];
    for await (const chunk of stream) chunks.push(chunk);
    expect(chunks).toEqual(FIXTURES["completion-text"].chunks);
  });
});

describe("embeddings", () => {
  it("returns float embeddings as the upstream sent them", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("embed-float");
    const data = await client.embeddings.create({ model: `fake/${model}`, input: ["hello", "world"], encoding_format: "float", dimensions: 4 });
    expect(data.data.map((d) => d.embedding)).toEqual([vectorFor("hello", 4), vectorFor("world", 4)]);
    expect(upstream.requests(model)[0]!.body).toEqual({ model, input: ["hello", "world"], encoding_format: "float", dimensions: 4 });
  });

  it("returns base64 embeddings untouched (raw) and the SDK decodes them to the same floats", async () => {
    const { client, apiKey } = await clientFor(stack);
    const model = uniqueModel("embed-b64");
    const res = await gatewayFetch(stack, "/v1/embeddings", { key: apiKey, body: { model: `fake/${model}`, input: "hello", encoding_format: "base64" } });
    const raw = (await res.json()) as { data: { embedding: string }[]; usage: { prompt_tokens: number } };
    expect(raw.data[0]!.embedding).toBe(base64Of(vectorFor("hello", 8)));
    // The SDK asks for base64 by default and decodes it.
    const viaSdk = await client.embeddings.create({ model: `fake/${model}`, input: "hello" });
    expect(viaSdk.data[0]!.embedding).toEqual(vectorFor("hello", 8));
    expect(upstream.requests(model)[1]!.body["encoding_format"]).toBe("base64");
  });

  it("accepts token-array input and meters the embedding's usage", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("embed-tokens");
    const { data, response } = await client.embeddings
      .create({
        model: `fake/${model}`,
        input: [
          [1, 2, 3],
          [4, 5],
        ],
        encoding_format: "float",
      })
      .withResponse();
    expect(data.data).toHaveLength(2);
    const row = await usageRow(stack, response.headers.get("x-request-id")!);
    expect(row).toMatchObject({
      operation: "embeddings",
      prompt_tokens: data.usage.prompt_tokens,
      completion_tokens: 0,
      total_tokens: data.usage.total_tokens,
    });
  });
});

describe("models", () => {
  it("lists the models the key may use, in OpenAI's list shape", async () => {
    const { client } = await clientFor(stack);
    const page = await client.models.list();
    const ids = page.data.map((m) => m.id);
    expect(ids).toEqual(expect.arrayContaining(["catalog/catalog-chat-1", "catalog-chat-1", "catalog/catalog-embed-1", "catalog-embed-1"]));
    expect(page.data[0]).toEqual({ id: expect.any(String), object: "model", created: expect.any(Number), owned_by: "catalog" });
  });

  it("filters the list by the key's model globs", async () => {
    const { client } = await clientFor(stack, { models: ["catalog/*chat*"] });
    expect((await client.models.list()).data.map((m) => m.id)).toEqual(["catalog/catalog-chat-1"]);
  });

  it("retrieves one model by an id containing a slash, and 404s an unknown one", async () => {
    const { client } = await clientFor(stack);
    expect(await client.models.retrieve("catalog/catalog-embed-1")).toEqual({
      id: "catalog/catalog-embed-1",
      object: "model",
      created: expect.any(Number),
      owned_by: "catalog",
    });
    const err = await client.models.retrieve("catalog/nope").catch((e: unknown) => e);
    expect(err).toBeInstanceOf((await import("openai")).NotFoundError);
  });

  it("retrieves a pinned model of a provider that serves any model (usable, so not a 404), within the key's globs", async () => {
    const { client } = await clientFor(stack);
    expect(await client.models.retrieve("fake/any-model-7")).toEqual({
      id: "fake/any-model-7",
      object: "model",
      created: expect.any(Number),
      owned_by: "fake",
    });
    const { NotFoundError } = await import("openai");
    expect(await client.models.retrieve("nobody/any-model-7").catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
    const { client: narrow } = await clientFor(stack, { models: ["catalog/*"] });
    expect(await narrow.models.retrieve("fake/any-model-7").catch((e: unknown) => e)).toBeInstanceOf(NotFoundError);
  });
});

describe("OpenAPI document", () => {
  it("documents the core routes with the schemas that validate them", async () => {
    const doc = (await (await gatewayFetch(stack, "/openapi.json")).json()) as {
      paths: Record<string, Record<string, { requestBody?: { content: Record<string, { schema: { $ref?: string } }> }; responses: Record<string, unknown> }>>;
      components: { schemas: Record<string, { properties?: Record<string, unknown> }> };
    };
    const chat = doc.paths["/v1/chat/completions"]!["post"]!;
    expect(chat.requestBody!.content["application/json"]!.schema.$ref).toBe("#/components/schemas/CreateChatCompletionRequest");
    expect(Object.keys(chat.responses)).toEqual(expect.arrayContaining(["200", "400", "401", "404", "413", "415", "429", "502", "504"]));
    expect(Object.keys(doc.components.schemas["CreateChatCompletionRequest"]!.properties!)).toEqual(
      expect.arrayContaining([
        "model",
        "messages",
        "tools",
        "tool_choice",
        "response_format",
        "stream_options",
        "n",
        "logprobs",
        "top_logprobs",
        "max_completion_tokens",
      ]),
    );
    for (const path of ["/v1/completions", "/v1/embeddings"]) expect(doc.paths[path]!["post"]).toBeDefined();
    expect(doc.paths["/v1/models"]!["get"]).toBeDefined();
    expect(doc.paths["/v1/models/{model}"]!["get"]).toBeDefined();
  });
});
