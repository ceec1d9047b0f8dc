import { describe, expect, it } from "vitest";
import { ApiError } from "../../../../shared/src";
import type { ChatRequest } from "../chat-translation";
import { defaultMaxTokens, toAnthropicRequest } from "./chat-request";

const req = (body: Record<string, unknown>) => ({ model: "claude/claude-sonnet-4-5", ...body }) as unknown as ChatRequest;
const translate = (body: Record<string, unknown>, model = "claude-sonnet-4-5-20250929") => toAnthropicRequest(req(body), model);
const rejection = (body: Record<string, unknown>) => {
  try {
    translate(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    const e = err as ApiError;
    return { status: e.status, param: e.param, code: e.code, message: e.message };
  }
  throw new Error("expected a 400");
};

describe("OpenAI chat request → Anthropic Messages request", () => {
  it("moves system and developer messages to the top-level system, in order, and uses the upstream model", () => {
    const out = translate({
      messages: [
        { role: "system", content: "You are terse." },
        { role: "developer", content: [{ type: "text", text: "Answer in French." }] },
        { role: "user", content: "Hi" },
      ],
    });
    expect(out.model).toBe("claude-sonnet-4-5-20250929");
    expect(out.system).toEqual([
      { type: "text", text: "You are terse." },
      { type: "text", text: "Answer in French." },
    ]);
    expect(out.messages).toEqual([{ role: "user", content: [{ type: "text", text: "Hi" }] }]);
  });

  it("keeps a multi-turn conversation with images (data URL and https URL)", () => {
    const out = translate({
      messages: [
        { role: "user", content: "Hello" },
        { role: "assistant", content: "Hi! How can I help?" },
        {
          role: "user",
          content: [
            { type: "text", text: "What is in these?" },
            { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
            { type: "image_url", image_url: { url: "https://example.com/cat.jpg", detail: "high" } },
          ],
        },
      ],
    });
    expect(out.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Hello" }] },
      { role: "assistant", content: [{ type: "text", text: "Hi! How can I help?" }] },
      {
        role: "user",
        content: [
          { type: "text", text: "What is in these?" },
          { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
          { type: "image", source: { type: "url", url: "https://example.com/cat.jpg" } },
        ],
      },
    ]);
  });

  it("translates tools, tool calls and tool results (consecutive results merged into one user turn)", () => {
    const out = translate({
      messages: [
        { role: "user", content: "Weather in Paris and Rome?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            { id: "toolu_a", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } },
            { id: "toolu_b", type: "function", function: { name: "get_weather", arguments: '{"city":"Rome"}' } },
          ],
        },
        { role: "tool", tool_call_id: "toolu_a", content: "18C" },
        { role: "tool", tool_call_id: "toolu_b", content: [{ type: "text", text: "24C" }] },
        { role: "user", content: "Thanks, which is warmer?" },
      ],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Current weather",
            parameters: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
            strict: true,
          },
        },
      ],
      tool_choice: "required",
      parallel_tool_calls: false,
    });
    expect(out.tools).toEqual([
      {
        name: "get_weather",
        description: "Current weather",
        input_schema: { type: "object", properties: { city: { type: "string" } }, required: ["city"] },
        strict: true,
      },
    ]);
    expect(out.tool_choice).toEqual({ type: "any", disable_parallel_tool_use: true });
    expect(out.messages).toEqual([
      { role: "user", content: [{ type: "text", text: "Weather in Paris and Rome?" }] },
      {
        role: "assistant",
        content: [
          { type: "tool_use", id: "toolu_a", name: "get_weather", input: { city: "Paris" } },
          { type: "tool_use", id: "toolu_b", name: "get_weather", input: { city: "Rome" } },
        ],
      },
      {
        role: "user",
        content: [
          { type: "tool_result", tool_use_id: "toolu_a", content: "18C" },
          { type: "tool_result", tool_use_id: "toolu_b", content: "24C" },
          { type: "text", text: "Thanks, which is warmer?" },
        ],
      },
    ]);
  });

  it("maps every tool_choice form", () => {
    const tools = [{ type: "function", function: { name: "f", parameters: { type: "object" } } }];
    const choice = (tool_choice: unknown) => translate({ messages: [{ role: "user", content: "x" }], tools, tool_choice }).tool_choice;
    expect(choice("none")).toEqual({ type: "none" });
    expect(choice("auto")).toEqual({ type: "auto" });
    expect(choice("required")).toEqual({ type: "any" });
    expect(choice({ type: "function", function: { name: "f" } })).toEqual({ type: "tool", name: "f" });
    expect(translate({ messages: [{ role: "user", content: "x" }], tools }).tool_choice).toBeUndefined();
    // allowed_tools narrows the tools sent.
    const two = [...tools, { type: "function", function: { name: "h", parameters: { type: "object" } } }];
    const narrowed = translate({
      messages: [{ role: "user", content: "x" }],
      tools: two,
      tool_choice: { type: "allowed_tools", allowed_tools: { mode: "required", tools: [{ type: "function", function: { name: "h" } }] } },
    });
    expect(narrowed.tools?.map((t) => (t as { name: string }).name)).toEqual(["h"]);
    expect(narrowed.tool_choice).toEqual({ type: "any" });
    // A tool without parameters still gets the object schema Anthropic requires.
    expect(translate({ messages: [{ role: "user", content: "x" }], tools: [{ type: "function", function: { name: "g" } }] }).tools).toEqual([
      { name: "g", input_schema: { type: "object", properties: {} } },
    ]);
  });

  it("passes sampling, stops, user and max_completion_tokens through", () => {
    const out = translate({
      messages: [{ role: "user", content: "x" }],
      temperature: 0.2,
      top_p: 0.9,
      stop: "END",
      max_completion_tokens: 300,
      max_tokens: 999,
      user: "user-123",
      stream: true,
    });
    expect(out).toMatchObject({ temperature: 0.2, top_p: 0.9, stop_sequences: ["END"], max_tokens: 300, metadata: { user_id: "user-123" }, stream: true });
    expect(translate({ messages: [{ role: "user", content: "x" }], stop: ["a", "b"], max_tokens: 50 })).toMatchObject({
      stop_sequences: ["a", "b"],
      max_tokens: 50,
    });
  });

  it("defaults max_tokens by model family when the client sets none", () => {
    expect(translate({ messages: [{ role: "user", content: "x" }] }).max_tokens).toBe(8192);
    expect(defaultMaxTokens("claude-3-haiku-20240307")).toBe(4096);
    expect(defaultMaxTokens("claude-3-5-haiku-latest")).toBe(8192);
    expect(defaultMaxTokens("claude-opus-4-1")).toBe(8192);
    expect(defaultMaxTokens("some-other-model")).toBe(4096);
  });

  it("maps json_schema response_format and reasoning_effort to output_config", () => {
    const schema = { type: "object", properties: { a: { type: "string" } }, required: ["a"], additionalProperties: false };
    const out = translate({
      messages: [{ role: "user", content: "x" }],
      response_format: { type: "json_schema", json_schema: { name: "out", schema } },
      reasoning_effort: "high",
    });
    expect(out.output_config).toEqual({ effort: "high", format: { type: "json_schema", schema } });
  });

  it("drops parameters without effect on the answer's meaning", () => {
    const out = translate({
      messages: [{ role: "user", content: "x", name: "alice" }],
      seed: 7,
      store: true,
      metadata: { a: "b" },
      service_tier: "auto",
      n: 1,
      logprobs: false,
      presence_penalty: 0,
      frequency_penalty: 0,
      prompt_cache_key: "k",
    });
    expect(Object.keys(out).sort()).toEqual(["max_tokens", "messages", "model"]);
  });

  it("turns an explicit prompt cache breakpoint into cache_control", () => {
    const out = translate({
      messages: [
        { role: "system", content: [{ type: "text", text: "long policy", prompt_cache_breakpoint: { mode: "explicit" } }] },
        { role: "user", content: "x" },
      ],
    });
    expect(out.system).toEqual([{ type: "text", text: "long policy", cache_control: { type: "ephemeral" } }]);
  });

  it("rejects what Anthropic cannot honour with a 400 naming the param", () => {
    const base = { messages: [{ role: "user", content: "x" }] };
    expect(rejection({ ...base, temperature: 1.5 })).toMatchObject({ status: 400, param: "temperature", code: "invalid_request" });
    expect(rejection({ ...base, n: 2 })).toMatchObject({ status: 400, param: "n" });
    expect(rejection({ ...base, logprobs: true, top_logprobs: 2 })).toMatchObject({ param: "logprobs" });
    expect(rejection({ ...base, presence_penalty: 0.5 })).toMatchObject({ param: "presence_penalty" });
    expect(rejection({ ...base, logit_bias: { "50256": -100 } })).toMatchObject({ param: "logit_bias" });
    expect(rejection({ ...base, response_format: { type: "json_object" } })).toMatchObject({ param: "response_format" });
    expect(rejection({ ...base, reasoning_effort: "minimal" })).toMatchObject({ param: "reasoning_effort" });
    expect(rejection({ ...base, tool_choice: "required" })).toMatchObject({ param: "tool_choice" });
    expect(rejection({ ...base, tools: [{ type: "custom", custom: { name: "c" } }] })).toMatchObject({ param: "tools[0].type" });
    expect(rejection({ messages: [{ role: "user", content: [{ type: "input_audio", input_audio: { data: "AA==", format: "wav" } }] }] })).toMatchObject({
      param: "messages[0].content[0].type",
    });
    expect(rejection({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "data:image/bmp;base64,Qk0=" } }] }] })).toMatchObject({
      param: "messages[0].content[0].image_url.url",
    });
    expect(
      rejection({
        messages: [
          { role: "user", content: "x" },
          { role: "assistant", tool_calls: [{ id: "t", type: "function", function: { name: "f", arguments: "{not json" } }] },
        ],
      }),
    ).toMatchObject({ param: "messages[1].tool_calls[0].function.arguments" });
  });

  it("sends base64 PDFs as document blocks", () => {
    const out = translate({
      messages: [{ role: "user", content: [{ type: "file", file: { filename: "a.pdf", file_data: "data:application/pdf;base64,JVBERi0=" } }] }],
    });
    expect(out.messages[0]!.content).toEqual([{ type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } }]);
  });
});
