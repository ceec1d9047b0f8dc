import { describe, expect, it } from "vitest";
import { validationError } from "../validation";
import { ChatCompletionRequestSchema } from "./chat";
import { CompletionRequestSchema } from "./completions";
import { EmbeddingRequestSchema } from "./embeddings";
import FULL_CHAT_REQUEST from "../../../../test/fixtures/openai/chat-request-all-fields.json";

const user = (content: unknown) => ({ role: "user", content });
const errorOf = (schema: { safeParse(x: unknown): { success: boolean; error?: unknown } }, input: unknown) => {
  const r = schema.safeParse(input);
  expect(r.success).toBe(false);
  return validationError(r.error as never);
};

describe("ChatCompletionRequestSchema", () => {
  it("accepts every field of OpenAI's chat request and keeps them all", () => {
    const r = ChatCompletionRequestSchema.safeParse(FULL_CHAT_REQUEST);
    expect(r.error).toBeUndefined();
    expect(r.data).toEqual(FULL_CHAT_REQUEST);
  });

  it("passes vendor extension fields through untouched", () => {
    const r = ChatCompletionRequestSchema.parse({ model: "m", messages: [user("hi")], top_k: 40, repetition_penalty: 1.1 });
    expect(r).toMatchObject({ top_k: 40, repetition_penalty: 1.1 });
  });

  it("names a missing model and missing messages", () => {
    expect(errorOf(ChatCompletionRequestSchema, { messages: [user("x")] })).toMatchObject({ param: "model", message: "Missing required parameter: 'model'." });
    expect(errorOf(ChatCompletionRequestSchema, { model: "m" })).toMatchObject({ param: "messages", message: "Missing required parameter: 'messages'." });
  });

  it("says 'invalid type' (not 'missing') for a value of the wrong type", () => {
    const e = errorOf(ChatCompletionRequestSchema, { model: 5, messages: [user("x")] });
    expect(e.param).toBe("model");
    expect(e.message).toMatch(/^Invalid type for 'model'/);
  });

  it("names an unknown content part type at its path", () => {
    const e = errorOf(ChatCompletionRequestSchema, {
      model: "m",
      messages: [
        user([
          { type: "text", text: "a" },
          { type: "video", video: {} },
        ]),
      ],
    });
    expect(e.param).toBe("messages[0].content[1].type");
  });

  it("names a wrongly typed field inside a content part", () => {
    const e = errorOf(ChatCompletionRequestSchema, { model: "m", messages: [user([{ type: "text", text: 5 }])] });
    expect(e.param).toBe("messages[0].content[0].text");
  });

  it("lists the accepted types when content is neither a string nor parts", () => {
    const e = errorOf(ChatCompletionRequestSchema, { model: "m", messages: [user(5)] });
    expect(e).toMatchObject({ param: "messages[0].content", message: "Invalid type for 'messages[0].content': expected string or array." });
  });

  it("names an unknown role", () => {
    expect(errorOf(ChatCompletionRequestSchema, { model: "m", messages: [{ role: "robot", content: "x" }] }).param).toBe("messages[0].role");
  });

  it.each([
    [{ n: 0 }, "n"],
    [{ n: 129 }, "n"],
    [{ n: 1.5 }, "n"],
    [{ temperature: 2.5 }, "temperature"],
    [{ top_p: -0.1 }, "top_p"],
    [{ stop: ["a", "b", "c", "d", "e"] }, "stop"],
    [{ top_logprobs: 21, logprobs: true }, "top_logprobs"],
    [{ top_logprobs: 2 }, "top_logprobs"],
    [{ stream_options: { include_usage: true } }, "stream_options"],
    [{ response_format: { type: "yaml" } }, "response_format.type"],
    [{ tools: [{ type: "function", function: { name: "bad name!" } }] }, "tools[0].function.name"],
    [{ tool_choice: "sometimes" }, "tool_choice"],
    [{ logit_bias: { abc: 1 } }, "logit_bias.abc"],
    [{ messages: [] }, "messages"],
  ])("rejects %j naming %s", (patch, param) => {
    expect(errorOf(ChatCompletionRequestSchema, { model: "m", messages: [user("x")], ...patch }).param).toBe(param);
  });
});

describe("CompletionRequestSchema", () => {
  it.each([["a prompt"], [["a", "b"]], [[1, 2, 3]], [[[1, 2], [3]]]])("accepts prompt %j", (prompt) => {
    expect(CompletionRequestSchema.safeParse({ model: "m", prompt }).success).toBe(true);
  });

  it("requires a prompt and checks best_of ≥ n", () => {
    expect(errorOf(CompletionRequestSchema, { model: "m" }).param).toBe("prompt");
    expect(errorOf(CompletionRequestSchema, { model: "m", prompt: "x", n: 3, best_of: 2 }).param).toBe("best_of");
  });
});

describe("EmbeddingRequestSchema", () => {
  it.each([["text"], [["a", "b"]], [[1, 2]], [[[1], [2, 3]]]])("accepts input %j", (input) => {
    expect(EmbeddingRequestSchema.safeParse({ model: "m", input, encoding_format: "base64", dimensions: 256 }).success).toBe(true);
  });

  it("rejects an unknown encoding and an empty input list", () => {
    expect(errorOf(EmbeddingRequestSchema, { model: "m", input: "x", encoding_format: "hex" }).param).toBe("encoding_format");
    expect(errorOf(EmbeddingRequestSchema, { model: "m", input: [] }).param).toBe("input");
  });
});
