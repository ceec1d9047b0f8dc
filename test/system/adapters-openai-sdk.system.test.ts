import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import anthropicText from "../fixtures/anthropic/message-text.json";
import anthropicTools from "../fixtures/anthropic/message-tool-use.json";
import geminiText from "../fixtures/google/generate-text.json";
import { ANTHROPIC_FAKE_KEY } from "../fake-upstream/anthropic";
import { GOOGLE_FAKE_KEY } from "../fake-upstream/google";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { uniqueModel } from "../support/names";
import { usageRow } from "../support/stores";
import { startStack, type Stack } from "../support/stack";
import { clientFor } from "../support/clients";

/**
 * Issue 6, "must show": the official `openai` SDK reaches Claude and Gemini through providers of
 * type `anthropic` and `google` — JSON and streamed, with and without tools — and the usage is
 * the same whether streamed or not. The fake upstream answers in Anthropic's and Gemini's own
 * recorded wire formats and records what it received.
 */

let stack: Stack;
let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
  const providers = [
    { name: "claude", type: "anthropic", base_url: upstream.url, timeout_ms: 20_000 },
    { name: "gemini", type: "google", base_url: upstream.url.replace(/\/v1$/, "/v1beta"), timeout_ms: 20_000 },
    { name: "claude-badkey", type: "anthropic", base_url: upstream.url },
  ];
  const keys = { claude: ANTHROPIC_FAKE_KEY, gemini: GOOGLE_FAKE_KEY, "claude-badkey": "sk-ant-wrong-key-never-shown" };
  stack = await startStack({
    vars: { "model-proxy": { PLATFORM_PROVIDERS: JSON.stringify(providers), PLATFORM_PROVIDER_KEYS: JSON.stringify(keys) } },
  });
});
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

const weatherTool = {
  type: "function" as const,
  function: {
    name: "get_weather",
    description: "Current weather",
    parameters: { type: "object", properties: { location: { type: "string" }, unit: { type: "string" } }, required: ["location"] },
  },
};

/** What the SDK's stream adds up to. */
async function collect(stream: AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>) {
  let content = "";
  let finish: string | null = null;
  let usage: OpenAI.Completions.CompletionUsage | null | undefined = null;
  const tools: { id?: string; name?: string; arguments: string }[] = [];
  let chunks = 0;
  for await (const chunk of stream) {
    chunks++;
    if (chunk.usage) usage = chunk.usage;
    for (const choice of chunk.choices) {
      content += choice.delta.content ?? "";
      for (const call of choice.delta.tool_calls ?? []) {
        const slot = (tools[call.index] ??= { arguments: "" });
        if (call.id) slot.id = call.id;
        if (call.function?.name) slot.name = call.function.name;
        slot.arguments += call.function?.arguments ?? "";
      }
      if (choice.finish_reason) finish = choice.finish_reason;
    }
  }
  return { content, finish, usage, tools, chunks };
}

/** OpenAI-only and vendor fields a client may send: the translations must not carry them upstream. */
const FOREIGN_FIELDS = { top_k: 40, repetition_penalty: 1.1, min_p: 0.05, seed: 7, store: false, prompt_cache_key: "k", unknown_vendor_knob: true };

describe("openai SDK → anthropic provider", () => {
  it("a client's vendor and OpenAI-only fields never reach Anthropic, which refuses extra inputs", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("claude-foreign");
    const completion = await client.chat.completions.create({
      model: `claude/${model}`,
      messages: [{ role: "user", content: "Hi" }],
      ...FOREIGN_FIELDS,
    } as never);
    expect(completion).toMatchObject({ object: "chat.completion" });
    const sent = upstream.requests(model)[0]!.body;
    for (const field of Object.keys(FOREIGN_FIELDS)) expect(sent).not.toHaveProperty(field);
  });

  it("chat: translated request upstream (x-api-key, system, default max_tokens), OpenAI completion back", async () => {
    const { client, apiKey } = await clientFor(stack);
    const model = uniqueModel("claude-text");
    const { data, response } = await client.chat.completions
      .create({
        model: `claude/${model}`,
        messages: [
          { role: "system", content: "Answer briefly." },
          { role: "user", content: "What is the capital of France?" },
        ],
        temperature: 0.5,
        user: "end-user-7",
      })
      .withResponse();
    expect(data.object).toBe("chat.completion");
    expect(data.choices[0]!.message.content).toBe(anthropicText.content[0]!.text);
    expect(data.choices[0]!.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: 3093, completion_tokens: 12, total_tokens: 3105, prompt_tokens_details: { cached_tokens: 2048 } });
    expect(response.headers.get("x-gateway-provider")).toBe("claude");

    const [sent] = upstream.requests(model);
    expect(sent!.path).toBe("/v1/messages");
    expect(sent!.headers["x-api-key"]).toBe(ANTHROPIC_FAKE_KEY);
    expect(sent!.headers["anthropic-version"]).toBe("2023-06-01");
    expect(sent!.headers["authorization"]).toBeUndefined();
    expect(JSON.stringify(sent)).not.toContain(apiKey);
    expect(sent!.body).toEqual({
      model,
      // No max_tokens from the client: the documented default for a claude-* model.
      max_tokens: 8192,
      system: [{ type: "text", text: "Answer briefly." }],
      messages: [{ role: "user", content: [{ type: "text", text: "What is the capital of France?" }] }],
      temperature: 0.5,
      metadata: { user_id: "end-user-7" },
    });
  });

  it("streamed chat arrives as OpenAI chunks with the same usage as the non-streamed answer", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("claude-stream");
    const plain = await client.chat.completions.create({ model: `claude/${model}`, messages: [{ role: "user", content: "Capital of France?" }] });
    const stream = await client.chat.completions.create({
      model: `claude/${model}`,
      messages: [{ role: "user", content: "Capital of France?" }],
      stream: true,
      stream_options: { include_usage: true },
    });
    const streamed = await collect(stream);
    expect(streamed.chunks).toBeGreaterThan(3);
    expect(streamed.content).toBe(plain.choices[0]!.message.content);
    expect(streamed.finish).toBe("stop");
    expect(streamed.usage).toEqual(plain.usage);
    expect(upstream.requests(model)[1]!.body["stream"]).toBe(true);
  });

  it("tool calls, non-streamed and streamed (argument deltas), with equal usage", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("claude-tools");
    const request = {
      model: `claude/${model}`,
      messages: [{ role: "user" as const, content: "Weather in Paris?" }],
      tools: [weatherTool],
      tool_choice: "auto" as const,
    };
    const plain = await client.chat.completions.create(request);
    const call = plain.choices[0]!.message.tool_calls![0]!;
    expect(plain.choices[0]!.finish_reason).toBe("tool_calls");
    expect(call).toEqual({
      id: anthropicTools.content[1]!.id,
      type: "function",
      function: { name: "get_weather", arguments: JSON.stringify(anthropicTools.content[1]!.input) },
    });

    const streamed = await collect(await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }));
    expect(streamed.finish).toBe("tool_calls");
    expect(streamed.tools).toHaveLength(1);
    expect(streamed.tools[0]!.id).toBe(call.id);
    expect(JSON.parse(streamed.tools[0]!.arguments)).toEqual(JSON.parse((call as { function: { arguments: string } }).function.arguments));
    expect(streamed.content).toBe(plain.choices[0]!.message.content);
    expect(streamed.usage).toEqual(plain.usage);

    // The tools went upstream in Anthropic's shape.
    expect(upstream.requests(model)[0]!.body).toMatchObject({
      tools: [{ name: "get_weather", description: "Current weather", input_schema: weatherTool.function.parameters }],
      tool_choice: { type: "auto" },
    });
  });

  it("a tool result turn goes back as tool_use/tool_result blocks", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("claude-tool-result");
    await client.chat.completions.create({
      model: `claude/${model}`,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"location":"Paris"}' } }],
        },
        { role: "tool", tool_call_id: "toolu_1", content: "18C and sunny" },
      ],
      tools: [weatherTool],
    });
    expect(upstream.requests(model)[0]!.body["messages"]).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris?" }] },
      { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "get_weather", input: { location: "Paris" } }] },
      { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "18C and sunny" }] },
    ]);
  });

  it("meters a stream the client did not ask usage for, with Anthropic's token counts", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("claude-metered");
    const { data: stream, response } = await client.chat.completions
      .create({ model: `claude/${model}`, messages: [{ role: "user", content: "x" }], stream: true })
      .withResponse();
    const streamed = await collect(stream);
    expect(streamed.usage).toBeNull();
    const row = await usageRow(stack, response.headers.get("x-request-id")!);
    expect(row).toMatchObject({ provider: "claude", model, prompt_tokens: 3093, completion_tokens: 12, cached_tokens: 2048, stream: 1 });
  });

  it("unhappy paths: refusal, max_tokens, upstream 429, mid-stream error, bad provider key, untranslatable param", async () => {
    const { client } = await clientFor(stack);
    const refusal = await client.chat.completions.create({ model: `claude/${uniqueModel("c")}-refusal`, messages: [{ role: "user", content: "x" }] });
    expect(refusal.choices[0]!.finish_reason).toBe("content_filter");
    const cut = await client.chat.completions.create({
      model: `claude/${uniqueModel("c")}-max-tokens`,
      messages: [{ role: "user", content: "x" }],
      max_tokens: 10,
    });
    expect(cut.choices[0]!.finish_reason).toBe("length");

    const limited = await client.chat.completions
      .create({ model: `claude/${uniqueModel("c")}-error-429`, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers?.get("retry-after")).toBe("7");

    const broken = await client.chat.completions.create({
      model: `claude/${uniqueModel("c")}-midstream-error`,
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    let text = "";
    const failure = await (async () => {
      for await (const chunk of broken) text += chunk.choices[0]?.delta.content ?? "";
    })().catch((e: unknown) => e);
    expect(text).toBe("Hello");
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toContain("Overloaded");

    const badKey = await client.chat.completions
      .create({ model: `claude-badkey/${uniqueModel("c")}`, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(badKey).toBeInstanceOf(OpenAI.APIError);
    expect((badKey as InstanceType<typeof OpenAI.APIError>).status).toBe(502);
    expect(JSON.stringify(badKey)).not.toContain("sk-ant-wrong-key-never-shown");

    const model = uniqueModel("claude-n");
    const refused = await client.chat.completions
      .create({ model: `claude/${model}`, messages: [{ role: "user", content: "x" }], n: 2 })
      .catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(OpenAI.BadRequestError);
    expect((refused as InstanceType<typeof OpenAI.BadRequestError>).param).toBe("n");
    expect(upstream.requests(model)).toHaveLength(0);
  });
});

describe("openai SDK → google provider", () => {
  it("a client's vendor and OpenAI-only fields never reach Gemini, which refuses unknown names", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("gemini-foreign");
    const completion = await client.chat.completions.create({
      model: `gemini/${model}`,
      messages: [{ role: "user", content: "Hi" }],
      ...FOREIGN_FIELDS,
    } as never);
    expect(completion).toMatchObject({ object: "chat.completion" });
    const sent = upstream.requests(model)[0]!.body;
    for (const field of Object.keys(FOREIGN_FIELDS)) expect(sent).not.toHaveProperty(field);
  });

  it("chat: contents/systemInstruction upstream with the key in x-goog-api-key, OpenAI completion back", async () => {
    const { client, apiKey } = await clientFor(stack);
    const model = uniqueModel("gemini-text");
    const data = await client.chat.completions.create({
      model: `gemini/${model}`,
      messages: [
        { role: "system", content: "Answer briefly." },
        { role: "user", content: "What is the capital of France?" },
      ],
      max_completion_tokens: 100,
    });
    expect(data.choices[0]!.message.content).toBe(geminiText.candidates[0]!.content.parts[0]!.text);
    expect(data.choices[0]!.finish_reason).toBe("stop");
    expect(data.usage).toMatchObject({ prompt_tokens: 9, completion_tokens: 37, total_tokens: 46, completion_tokens_details: { reasoning_tokens: 30 } });

    const [sent] = upstream.requests(model);
    expect(sent!.path).toBe(`/v1beta/models/${model}:generateContent`);
    expect(sent!.headers["x-goog-api-key"]).toBe(GOOGLE_FAKE_KEY);
    expect(JSON.stringify(sent)).not.toContain(apiKey);
    expect(sent!.body).toEqual({
      contents: [{ role: "user", parts: [{ text: "What is the capital of France?" }] }],
      systemInstruction: { parts: [{ text: "Answer briefly." }] },
      generationConfig: { maxOutputTokens: 100 },
    });
  });

  it("streamed chat (streamGenerateContent?alt=sse) with the same usage as non-streamed", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("gemini-stream");
    const plain = await client.chat.completions.create({ model: `gemini/${model}`, messages: [{ role: "user", content: "Capital?" }] });
    const streamed = await collect(
      await client.chat.completions.create({
        model: `gemini/${model}`,
        messages: [{ role: "user", content: "Capital?" }],
        stream: true,
        stream_options: { include_usage: true },
      }),
    );
    expect(streamed.content).toBe(plain.choices[0]!.message.content);
    expect(streamed.finish).toBe("stop");
    expect(streamed.usage).toEqual(plain.usage);
    expect(upstream.requests(model)[1]!.path).toBe(`/v1beta/models/${model}:streamGenerateContent?alt=sse`);
  });

  it("tool calls, non-streamed and streamed, with equal usage; the thought signature round-trips", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("gemini-tools");
    const request = {
      model: `gemini/${model}`,
      messages: [{ role: "user" as const, content: "Weather in Paris?" }],
      tools: [weatherTool],
      tool_choice: "required" as const,
    };
    const plain = await client.chat.completions.create(request);
    const message = plain.choices[0]!.message;
    expect(plain.choices[0]!.finish_reason).toBe("tool_calls");
    const call = message.tool_calls![0]! as OpenAI.Chat.Completions.ChatCompletionMessageFunctionToolCall;
    expect(call.function.name).toBe("get_weather");
    expect(JSON.parse(call.function.arguments)).toEqual({ location: "Paris, France", unit: "celsius" });

    const streamed = await collect(await client.chat.completions.create({ ...request, stream: true, stream_options: { include_usage: true } }));
    expect(streamed.finish).toBe("tool_calls");
    expect(streamed.tools[0]!.name).toBe("get_weather");
    expect(JSON.parse(streamed.tools[0]!.arguments)).toEqual({ location: "Paris, France", unit: "celsius" });
    expect(streamed.content).toBe(message.content ?? "");
    expect(streamed.usage).toEqual(plain.usage);
    expect(upstream.requests(model)[0]!.body).toMatchObject({
      tools: [{ functionDeclarations: [{ name: "get_weather", description: "Current weather", parametersJsonSchema: weatherTool.function.parameters }] }],
      toolConfig: { functionCallingConfig: { mode: "ANY" } },
    });

    // Next turn: the assistant message as the SDK returned it, then the tool result.
    const next = uniqueModel("gemini-tools-next");
    await client.chat.completions.create({
      model: `gemini/${next}`,
      messages: [
        { role: "user", content: "Weather in Paris?" },
        message as OpenAI.Chat.Completions.ChatCompletionMessageParam,
        { role: "tool", tool_call_id: call.id, content: '{"temperature":18}' },
      ],
      tools: [weatherTool],
    });
    expect(upstream.requests(next)[0]!.body["contents"]).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris?" }] },
      {
        role: "model",
        parts: [
          { text: "Let me look that up." },
          {
            functionCall: { name: "get_weather", args: { location: "Paris, France", unit: "celsius" } },
            thoughtSignature: "CiQB0e2Kb7sE2vL5q0bYQy0n4lV7pQ5mFq6p0dSxYbQ0Q1Jk9CA=",
          },
        ],
      },
      { role: "user", parts: [{ functionResponse: { name: "get_weather", response: { temperature: 18 } } }] },
    ]);
  });

  it("unhappy paths: safety block, blocked prompt, max tokens, 429 with Google's retry delay, mid-stream error", async () => {
    const { client } = await clientFor(stack);
    const safety = await client.chat.completions.create({ model: `gemini/${uniqueModel("g")}-safety`, messages: [{ role: "user", content: "x" }] });
    expect(safety.choices[0]!.finish_reason).toBe("content_filter");
    const safetyStream = await collect(
      await client.chat.completions.create({ model: `gemini/${uniqueModel("g")}-safety`, messages: [{ role: "user", content: "x" }], stream: true }),
    );
    expect(safetyStream.finish).toBe("content_filter");
    const blocked = await client.chat.completions.create({ model: `gemini/${uniqueModel("g")}-prompt-blocked`, messages: [{ role: "user", content: "x" }] });
    expect(blocked.choices[0]).toMatchObject({ finish_reason: "content_filter", message: { content: null } });
    const cut = await client.chat.completions.create({ model: `gemini/${uniqueModel("g")}-max-tokens`, messages: [{ role: "user", content: "x" }] });
    expect(cut.choices[0]!.finish_reason).toBe("length");

    const limited = await client.chat.completions
      .create({ model: `gemini/${uniqueModel("g")}-error-429`, messages: [{ role: "user", content: "x" }] })
      .catch((e: unknown) => e);
    expect(limited).toBeInstanceOf(OpenAI.RateLimitError);
    expect((limited as InstanceType<typeof OpenAI.RateLimitError>).headers?.get("retry-after")).toBe("25");

    const broken = await client.chat.completions.create({
      model: `gemini/${uniqueModel("g")}-midstream-error`,
      messages: [{ role: "user", content: "x" }],
      stream: true,
    });
    const failure = await (async () => {
      for await (const _ of broken) void _;
    })().catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    expect((failure as Error).message).toContain("overloaded");
  });

  it("embeddings through batchEmbedContents, decoded by the SDK from base64", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("gemini-embed");
    const data = await client.embeddings.create({ model: `gemini/${model}`, input: ["hello", "world"], dimensions: 4 });
    expect(data.data).toHaveLength(2);
    expect(data.data[0]!.embedding.map((v) => Number(v.toFixed(4)))).toEqual([0.0134, -0.0215, 0.0087, 0.0451]);
    expect(data.usage.prompt_tokens).toBeGreaterThan(0);
    expect(upstream.requests(model)[0]!.body).toEqual({
      requests: [
        { model: `models/${model}`, content: { parts: [{ text: "hello" }] }, outputDimensionality: 4 },
        { model: `models/${model}`, content: { parts: [{ text: "world" }] }, outputDimensionality: 4 },
      ],
    });
  });
});
