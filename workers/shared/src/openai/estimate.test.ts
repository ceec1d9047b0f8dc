import { describe, expect, it } from "vitest";
import { estimateMessagesPromptTokens } from "../anthropic/estimate";
import { maxOutputTokens } from "../model-output";
import { completionAsk, estimateChatPromptTokens, tokensForText } from "./estimate";

describe("tokensForText", () => {
  it("counts ASCII 4 characters to a token and other characters one token per UTF-8 byte", () => {
    expect(tokensForText("")).toBe(0);
    expect(tokensForText("abcdefgh")).toBe(2);
    expect(tokensForText("abcdefghi")).toBe(3);
    expect(tokensForText("Привет")).toBe(12); // 6 × 2 bytes
    expect(tokensForText("日本語")).toBe(9); // 3 × 3 bytes
    expect(tokensForText("🙂")).toBe(4); // one 4-byte code point (a surrogate pair)
    expect(tokensForText("café")).toBe(1 + 2); // "caf" rounds up to 1, "é" is 2 bytes
  });
});

describe("media parts", () => {
  it("count the characters they carry, at least the flat minimum", () => {
    const url = `data:image/png;base64,${"A".repeat(40_000)}`; // 40 022 characters
    expect(estimateChatPromptTokens({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url } }] }] })).toBe(4 + 10_006);
    expect(estimateChatPromptTokens({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://x.test/a.png" } }] }] })).toBe(
      4 + 765,
    );
    const data = "A".repeat(8_000); // 2 000 tokens at the text rule, above Anthropic's 1 600 minimum
    expect(estimateMessagesPromptTokens({ messages: [{ content: [{ type: "image", source: { type: "base64", media_type: "image/png", data } }] }] })).toBe(
      4 + Math.ceil("image/png".length / 4) + 2_000,
    );
  });
});

describe("completionAsk", () => {
  it("is the client's maximum per choice (null when unset) and the number of choices", () => {
    expect(completionAsk({})).toEqual({ maxPerChoice: null, choices: 1 });
    expect(completionAsk({ max_tokens: 10, max_completion_tokens: 20, n: 3 })).toEqual({ maxPerChoice: 20, choices: 3 });
    expect(completionAsk({ max_tokens: 5, n: 2, best_of: 4 })).toEqual({ maxPerChoice: 5, choices: 4 });
  });
});

describe("maxOutputTokens", () => {
  it("finds a model's documented output by family, whatever its version or provider prefix", () => {
    expect(maxOutputTokens("gpt-4o-2024-08-06")).toBe(16_384);
    expect(maxOutputTokens("openai/gpt-4o-mini")).toBe(16_384);
    expect(maxOutputTokens("claude-sonnet-4-5-20250929")).toBe(64_000);
    expect(maxOutputTokens("my-local-llm")).toBeNull();
  });
});
