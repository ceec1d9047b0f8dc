import { describe, expect, it } from "vitest";
import { ApiError } from "../../../../shared/src";
import { MessagesRequestSchema, type MessagesRequest } from "../../../../shared/src/anthropic";
import { toOpenAIChatRequest } from "./inbound-request";

const translate = (body: Record<string, unknown>) =>
  toOpenAIChatRequest(MessagesRequestSchema.parse({ model: "gpt-4o", max_tokens: 512, ...body }) as MessagesRequest);
const rejection = (body: Record<string, unknown>) => {
  try {
    translate(body);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return { status: (err as ApiError).status, param: (err as ApiError).param };
  }
  throw new Error("expected a 400");
};

describe("Anthropic Messages request → OpenAI chat request", () => {
  it("puts the system prompt first and keeps turns, with sampling, stops and the user id", () => {
    const out = translate({
      system: "You are terse.",
      messages: [
        { role: "user", content: "Hello" },
        { role: "assistant", content: [{ type: "text", text: "Hi!" }] },
        { role: "user", content: [{ type: "text", text: "Capital of France?", cache_control: { type: "ephemeral" } }] },
      ],
      temperature: 0.3,
      top_p: 0.9,
      top_k: 40,
      stop_sequences: ["END"],
      metadata: { user_id: "u-1" },
      stream: true,
    });
    expect(out).toEqual({
      model: "gpt-4o",
      max_tokens: 512,
      stream: true,
      messages: [
        { role: "system", content: "You are terse." },
        { role: "user", content: "Hello" },
        { role: "assistant", content: "Hi!" },
        { role: "user", content: "Capital of France?" },
      ],
      temperature: 0.3,
      top_p: 0.9,
      top_k: 40,
      stop: ["END"],
      user: "u-1",
    });
  });

  it("translates images and PDFs to OpenAI content parts", () => {
    const out = translate({
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Compare" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "iVBORw0KGgo=" } },
            { type: "image", source: { type: "url", url: "https://example.com/a.jpg" } },
            { type: "document", source: { type: "base64", media_type: "application/pdf", data: "JVBERi0=" } },
          ],
        },
      ],
    });
    expect(out.messages[0]).toEqual({
      role: "user",
      content: [
        { type: "text", text: "Compare" },
        { type: "image_url", image_url: { url: "data:image/png;base64,iVBORw0KGgo=" } },
        { type: "image_url", image_url: { url: "https://example.com/a.jpg" } },
        { type: "file", file: { filename: "document.pdf", file_data: "data:application/pdf;base64,JVBERi0=" } },
      ],
    });
  });

  it("turns tool_use into tool_calls and tool_result blocks into tool messages before the turn's text", () => {
    const out = translate({
      messages: [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: [
            { type: "thinking", thinking: "I should call the tool.", signature: "sig" },
            { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
          ],
        },
        {
          role: "user",
          content: [
            { type: "tool_result", tool_use_id: "toolu_1", content: [{ type: "text", text: "18C" }] },
            { type: "text", text: "And tomorrow?" },
          ],
        },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_2", name: "get_weather", input: { city: "Paris", day: "tomorrow" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_2", content: "service down", is_error: true }] },
      ],
      tools: [{ name: "get_weather", description: "Weather", input_schema: { type: "object", properties: { city: { type: "string" } } } }],
      tool_choice: { type: "any", disable_parallel_tool_use: true },
    });
    expect(out.messages).toEqual([
      { role: "user", content: "Weather in Paris?" },
      { role: "assistant", content: null, tool_calls: [{ id: "toolu_1", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris"}' } }] },
      { role: "tool", tool_call_id: "toolu_1", content: "18C" },
      { role: "user", content: "And tomorrow?" },
      {
        role: "assistant",
        content: null,
        tool_calls: [{ id: "toolu_2", type: "function", function: { name: "get_weather", arguments: '{"city":"Paris","day":"tomorrow"}' } }],
      },
      { role: "tool", tool_call_id: "toolu_2", content: "Error: service down" },
    ]);
    expect(out.tools).toEqual([
      { type: "function", function: { name: "get_weather", description: "Weather", parameters: { type: "object", properties: { city: { type: "string" } } } } },
    ]);
    expect(out.tool_choice).toBe("required");
    expect(out.parallel_tool_calls).toBe(false);
  });

  it("maps every tool_choice and the reasoning controls", () => {
    const tools = [{ name: "f", input_schema: { type: "object" } }];
    const choice = (tool_choice: unknown) => translate({ messages: [{ role: "user", content: "x" }], tools, tool_choice }).tool_choice;
    expect(choice({ type: "auto" })).toBe("auto");
    expect(choice({ type: "none" })).toBe("none");
    expect(choice({ type: "tool", name: "f" })).toEqual({ type: "function", function: { name: "f" } });
    expect(translate({ messages: [{ role: "user", content: "x" }], thinking: { type: "enabled", budget_tokens: 2048 } }).reasoning_effort).toBe("low");
    expect(translate({ messages: [{ role: "user", content: "x" }], thinking: { type: "enabled", budget_tokens: 32000 } }).reasoning_effort).toBe("high");
    expect(translate({ messages: [{ role: "user", content: "x" }], output_config: { effort: "medium" } }).reasoning_effort).toBe("medium");
    const schema = { type: "object", properties: { a: { type: "string" } } };
    expect(translate({ messages: [{ role: "user", content: "x" }], output_config: { format: { type: "json_schema", schema } } }).response_format).toEqual({
      type: "json_schema",
      json_schema: { name: "output", schema, strict: true },
    });
  });

  it("refuses Anthropic-only features with a 400 naming the param", () => {
    expect(rejection({ messages: [{ role: "user", content: "x" }], tools: [{ type: "web_search_20250305", name: "web_search" }] })).toEqual({
      status: 400,
      param: "tools[0].type",
    });
    expect(rejection({ messages: [{ role: "user", content: "x" }], container: "container_1" }).param).toBe("container");
    expect(rejection({ messages: [{ role: "user", content: [{ type: "image", source: { type: "file", file_id: "file_1" } }] }] }).param).toBe(
      "messages[0].content[0].source.type",
    );
    expect(rejection({ messages: [{ role: "user", content: [{ type: "search_result", source: "s", title: "t", content: [] }] }] }).param).toBe(
      "messages[0].content[0].type",
    );
  });
});
