import { describe, expect, it } from "vitest";
import { validationError } from "../validation";
import { anthropicErrorBody, anthropicErrorFromOpenAI, anthropicErrorType } from "./errors";
import { estimateMessagesPromptTokens } from "./estimate";
import { MessagesRequestSchema } from "./messages-request";

const errorOf = (input: unknown) => {
  const r = MessagesRequestSchema.safeParse(input);
  expect(r.success).toBe(false);
  return validationError(r.error!);
};
const base = { model: "claude-sonnet-4-5", max_tokens: 100, messages: [{ role: "user", content: "hi" }] };

describe("MessagesRequestSchema", () => {
  it("accepts a full request and keeps unknown (newer) fields", () => {
    const full = {
      ...base,
      system: [{ type: "text", text: "Be brief.", cache_control: { type: "ephemeral" } }],
      messages: [
        {
          role: "user",
          content: [
            { type: "text", text: "Weather?" },
            { type: "image", source: { type: "base64", media_type: "image/png", data: "AA==" } },
          ],
        },
        { role: "assistant", content: [{ type: "tool_use", id: "toolu_1", name: "w", input: { city: "Paris" } }] },
        { role: "user", content: [{ type: "tool_result", tool_use_id: "toolu_1", content: "18C" }] },
        { role: "assistant", content: [{ type: "server_tool_use", id: "srvtoolu_1", name: "web_search", input: {} }] },
      ],
      tools: [
        { name: "w", input_schema: { type: "object" } },
        { type: "web_search_20250305", name: "web_search", max_uses: 3 },
      ],
      tool_choice: { type: "auto", disable_parallel_tool_use: true },
      thinking: { type: "enabled", budget_tokens: 2048 },
      temperature: 1,
      top_k: 5,
      stream: true,
      metadata: { user_id: "u" },
      context_management: { edits: [] },
    };
    const r = MessagesRequestSchema.safeParse(full);
    expect(r.error).toBeUndefined();
    expect(r.data).toEqual(full);
  });

  it("names missing and malformed params the way a user must fix them", () => {
    expect(errorOf({ model: "m", messages: base.messages })).toMatchObject({ param: "max_tokens", message: "Missing required parameter: 'max_tokens'." });
    expect(errorOf({ ...base, messages: [] }).param).toBe("messages");
    expect(errorOf({ ...base, messages: [{ role: "system", content: "x" }] }).param).toBe("messages[0].role");
    expect(errorOf({ ...base, temperature: 1.5 }).param).toBe("temperature");
    expect(
      errorOf({ ...base, messages: [{ role: "user", content: [{ type: "image", source: { type: "base64", media_type: "image/bmp", data: "x" } }] }] }).param,
    ).toBe("messages[0].content[0].source.media_type");
    expect(errorOf({ ...base, messages: [{ role: "user", content: [{ type: "tool_result" }] }] }).param).toBe("messages[0].content[0].tool_use_id");
    expect(errorOf({ ...base, tools: [{ name: "w" }] }).param).toBe("tools[0].input_schema");
    expect(errorOf({ ...base, tool_choice: { type: "tool" } }).param).toBe("tool_choice.name");
  });
});

describe("Anthropic errors", () => {
  it("maps the gateway's codes and statuses to Anthropic's error types", () => {
    expect(anthropicErrorType("invalid_api_key", 401)).toBe("authentication_error");
    expect(anthropicErrorType("upstream_rate_limited", 429)).toBe("rate_limit_error");
    expect(anthropicErrorType("upstream_unavailable", 503)).toBe("overloaded_error");
    expect(anthropicErrorType("upstream_error", 502)).toBe("api_error");
    expect(anthropicErrorType("model_not_found", 404)).toBe("not_found_error");
    expect(anthropicErrorType(null, 400)).toBe("invalid_request_error");
    expect(anthropicErrorBody({ code: "payload_too_large", message: "too big" })).toEqual({
      type: "error",
      error: { type: "request_too_large", message: "too big" },
    });
  });

  it("converts OpenAI-shaped bodies and ignores anything else", () => {
    expect(
      anthropicErrorFromOpenAI({ error: { message: "Invalid API key.", type: "authentication_error", param: null, code: "invalid_api_key" } }, 401, "req_1"),
    ).toEqual({
      type: "error",
      error: { type: "authentication_error", message: "Invalid API key." },
      request_id: "req_1",
    });
    expect(anthropicErrorFromOpenAI({ type: "message" }, 400)).toBeNull();
  });
});

describe("Anthropic estimates", () => {
  it("estimates prompt tokens from system, text, tool use and tools", () => {
    const estimate = estimateMessagesPromptTokens({ system: "x".repeat(40), messages: [{ content: "y".repeat(80) }], tools: [] });
    expect(estimate).toBe(10 + 4 + 20 + 1);
  });
});
