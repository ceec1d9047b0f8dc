import { describe, expect, it } from "vitest";
import { observeOpenAIJson as observeJsonBytes, usageNearEnd } from "./openai-dialect";

const bytesOf = (text: string) => new TextEncoder().encode(text);

describe("observeJsonBytes", () => {
  it("reads usage and the generated text of a whole body", () => {
    const body = JSON.stringify(
      { choices: [{ message: { content: "Paris." } }], usage: { prompt_tokens: 9, completion_tokens: 2, total_tokens: 11 } },
      null,
      2,
    );
    const seen = observeJsonBytes(bytesOf(body));
    expect(seen.usage).toEqual({ promptTokens: 9, completionTokens: 2, cachedTokens: 0, cacheWriteTokens: 0, reasoningTokens: 0, totalTokens: 11 });
    expect(seen.completionChars).toBe(6);
  });

  it("reads usage from the end of a body too large to parse whole", () => {
    const data = "x".repeat(9 * 1024 * 1024);
    const body = `{"object":"list","data":[{"embedding":"${data}"}],"model":"m","usage":{"prompt_tokens":7,"total_tokens":7}}`;
    expect(observeJsonBytes(bytesOf(body)).usage).toMatchObject({ promptTokens: 7, totalTokens: 7 });
  });
});

describe("usageNearEnd", () => {
  it("finds the last usage object, nested braces and strings included", () => {
    expect(usageNearEnd('{"a":"}\\"usage\\":{","usage":{"prompt_tokens":1,"d":{"x":"}"}},"z":1}')).toEqual({ prompt_tokens: 1, d: { x: "}" } });
    expect(usageNearEnd('{"a":1}')).toBeNull();
  });
});
