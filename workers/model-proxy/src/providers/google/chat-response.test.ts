import { describe, expect, it } from "vitest";
import functionCall from "../../../../../test/fixtures/google/generate-function-call.json";
import maxTokens from "../../../../../test/fixtures/google/generate-max-tokens.json";
import promptBlocked from "../../../../../test/fixtures/google/generate-prompt-blocked.json";
import safetyBlocked from "../../../../../test/fixtures/google/generate-safety-blocked-candidate.json";
import text from "../../../../../test/fixtures/google/generate-text.json";
import type { GeminiResponse } from "./api";
import { toChatCompletion } from "./chat-response";

const completion = (r: unknown) => toChatCompletion(r as GeminiResponse, "gemini-2.5-flash", 1_700_000_000);

describe("Gemini response → OpenAI chat completion", () => {
  it("translates text with usage: cached tokens inside the prompt, thinking tokens inside the completion", () => {
    const out = completion(text);
    expect(out).toMatchObject({
      id: "pwG4aPeZLoy-nvgPlqn_mAo",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "gemini-2.5-flash",
      choices: [{ index: 0, message: { role: "assistant", content: "The capital of France is Paris.", refusal: null }, finish_reason: "stop", logprobs: null }],
    });
    expect(out.usage).toEqual({
      prompt_tokens: 9,
      completion_tokens: 37,
      total_tokens: 46,
      prompt_tokens_details: { cached_tokens: 4 },
      completion_tokens_details: { reasoning_tokens: 30 },
    });
    // Gemini's own total agrees with the translated one.
    expect(out.usage!.total_tokens).toBe(text.usageMetadata.totalTokenCount);
  });

  it("turns functionCall parts into tool_calls, keeping the thought signature for the next turn", () => {
    const out = completion(functionCall);
    const message = out.choices[0]!.message;
    expect(out.choices[0]!.finish_reason).toBe("tool_calls");
    expect(message.content).toBeNull();
    expect(message.tool_calls).toHaveLength(1);
    const call = message.tool_calls![0]! as { id: string; extra_content?: unknown };
    expect(call.id).toMatch(/^call_/);
    expect(call).toMatchObject({ type: "function", function: { name: "get_weather", arguments: '{"location":"Paris, France","unit":"celsius"}' } });
    expect(call.extra_content).toEqual({ google: { thought_signature: "CiQB0e2Kb7sE2vL5q0bYQy0n4lV7pQ5mFq6p0dSxYbQ0Q1Jk9CA=" } });
    expect(out.usage).toMatchObject({ prompt_tokens: 61, completion_tokens: 78, total_tokens: 139 });
  });

  it("reports MAX_TOKENS as length", () => {
    expect(completion(maxTokens).choices[0]!.finish_reason).toBe("length");
  });

  it("reports a safety-blocked candidate as content_filter with no content", () => {
    const out = completion(safetyBlocked);
    expect(out.choices[0]!.finish_reason).toBe("content_filter");
    expect(out.choices[0]!.message.content).toBeNull();
    expect(out.usage).toMatchObject({ prompt_tokens: 12, completion_tokens: 0 });
  });

  it("reports a blocked prompt (no candidates) as one content_filter choice, still metering the prompt", () => {
    const out = completion(promptBlocked);
    expect(out.choices).toEqual([{ index: 0, message: { role: "assistant", content: null, refusal: null }, logprobs: null, finish_reason: "content_filter" }]);
    expect(out.usage).toMatchObject({ prompt_tokens: 12, total_tokens: 12 });
  });

  it("keeps several candidates as several choices", () => {
    const out = completion({
      candidates: [
        { content: { role: "model", parts: [{ text: "A" }] }, finishReason: "STOP", index: 0 },
        { content: { role: "model", parts: [{ text: "thinking…", thought: true }, { text: "B" }] }, finishReason: "STOP", index: 1 },
      ],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 },
    });
    expect(out.choices.map((c) => c.message.content)).toEqual(["A", "B"]);
    expect((out.choices[1]!.message as { reasoning_content?: string }).reasoning_content).toBe("thinking…");
    expect(out.model).toBe("gemini-2.5-flash");
  });
});
