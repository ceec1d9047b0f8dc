import { describe, expect, it } from "vitest";
import maxTokens from "../../../../../test/fixtures/anthropic/message-max-tokens.json";
import refusal from "../../../../../test/fixtures/anthropic/message-refusal.json";
import text from "../../../../../test/fixtures/anthropic/message-text.json";
import toolUse from "../../../../../test/fixtures/anthropic/message-tool-use.json";
import type { AnthropicMessage } from "./api";
import { toChatCompletion } from "./chat-response";

const completion = (m: unknown) => toChatCompletion(m as AnthropicMessage, 1_700_000_000);

describe("Anthropic message → OpenAI chat completion", () => {
  it("translates a text answer, with cache reads and writes counted into the prompt", () => {
    const out = completion(text);
    expect(out).toMatchObject({
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      object: "chat.completion",
      created: 1_700_000_000,
      model: "claude-sonnet-4-5-20250929",
      choices: [
        {
          index: 0,
          message: { role: "assistant", content: "Hello! The capital of France is Paris.", refusal: null },
          finish_reason: "stop",
          logprobs: null,
        },
      ],
    });
    // input 21 uncached + 2048 cache read + 1024 cache write.
    expect(out.usage).toEqual({
      prompt_tokens: 3093,
      completion_tokens: 12,
      total_tokens: 3105,
      prompt_tokens_details: { cached_tokens: 2048, cache_write_tokens: 1024 },
      completion_tokens_details: { reasoning_tokens: 0 },
    });
    expect(out.choices[0]!.message.tool_calls).toBeUndefined();
  });

  it("turns tool_use blocks into tool_calls with JSON-string arguments and finish_reason tool_calls", () => {
    const out = completion(toolUse);
    const message = out.choices[0]!.message;
    expect(message.content).toBe("I'll check the weather in Paris for you.");
    expect(message.tool_calls).toEqual([
      {
        id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
        type: "function",
        function: { name: "get_weather", arguments: '{"location":"Paris, France","unit":"celsius"}' },
      },
    ]);
    expect(out.choices[0]!.finish_reason).toBe("tool_calls");
    expect(out.usage).toMatchObject({ prompt_tokens: 472, completion_tokens: 89, total_tokens: 561 });
  });

  it("reports a max_tokens stop as finish_reason length", () => {
    const out = completion(maxTokens);
    expect(out.choices[0]!.finish_reason).toBe("length");
    expect(out.choices[0]!.message.content).toBe("Once upon a time, in a kingdom by the");
  });

  it("reports a refusal as finish_reason content_filter, keeping what the model said", () => {
    const out = completion(refusal);
    expect(out.choices[0]!.finish_reason).toBe("content_filter");
    expect(out.choices[0]!.message.content).toBe("I can't help with that.");
  });

  it("surfaces thinking as reasoning_content and a tool-only answer as content null", () => {
    const out = completion({
      id: "msg_think",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5",
      content: [
        { type: "thinking", thinking: "The user wants weather.", signature: "EqQBCgIYAhIM" },
        { type: "tool_use", id: "toolu_1", name: "get_weather", input: { city: "Paris" } },
      ],
      stop_reason: "tool_use",
      stop_sequence: null,
      usage: { input_tokens: 10, output_tokens: 40, output_tokens_details: { thinking_tokens: 25 } },
    });
    const message = out.choices[0]!.message as (typeof out.choices)[0]["message"] & { reasoning_content?: string };
    expect(message.content).toBeNull();
    expect(message.reasoning_content).toBe("The user wants weather.");
    expect(out.usage?.completion_tokens_details?.reasoning_tokens).toBe(25);
    // A response without cache fields still has consistent totals.
    expect(out.usage).toMatchObject({ prompt_tokens: 10, completion_tokens: 40, total_tokens: 50 });
  });
});
