import { describe, expect, it } from "vitest";
import { openAIDuration } from "./duration";

describe("openAIDuration (OpenAI's x-ratelimit-reset-* format)", () => {
  it.each([
    [0, "0ms"],
    [20, "20ms"],
    [999.2, "1s"],
    [1000, "1s"],
    [1200, "1.2s"],
    [59_999, "59.999s"],
    [60_000, "1m0s"],
    [90_500, "1m30.5s"],
    [360_000, "6m0s"],
    [3_723_000, "1h2m3s"],
    [-5, "0ms"],
  ])("%s ms → %s", (ms, text) => {
    expect(openAIDuration(ms)).toBe(text);
  });
});
