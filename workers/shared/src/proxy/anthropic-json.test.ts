import { describe, expect, it } from "vitest";
import text from "../../../../test/fixtures/anthropic/message-text.json";
import toolUse from "../../../../test/fixtures/anthropic/message-tool-use.json";
import { observeAnthropicJson } from "./anthropic-dialect";

const run = (raw: string) => ({ observation: observeAnthropicJson(new TextEncoder().encode(raw)) });

describe("Anthropic JSON tap", () => {
  it("reads the Message's usage (cache reads and writes in the prompt)", () => {
    const { observation } = run(JSON.stringify(text, null, 2));
    expect(observation.usage).toEqual({
      promptTokens: 3093,
      completionTokens: 12,
      cachedTokens: 2048,
      cacheWriteTokens: 1024,
      reasoningTokens: 0,
      totalTokens: 3105,
    });
  });

  it("counts text and tool input as generated content", () => {
    const { observation } = run(JSON.stringify(toolUse));
    expect(observation.usage).toMatchObject({ promptTokens: 472, completionTokens: 89 });
    expect(observation.completionChars).toBeGreaterThan(40);
  });

  it("leaves usage unknown for a body that is not a Message", () => {
    const { observation } = run("{not json");
    expect(observation.usage).toBeNull();
  });
});
