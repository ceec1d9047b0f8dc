import { describe, expect, it } from "vitest";
import chatText from "../../../../../test/fixtures/openai/chat-text.json";
import chatTools from "../../../../../test/fixtures/openai/chat-tools.json";
import type { ChatCompletion } from "../chat-translation";
import { toAnthropicMessage } from "./inbound-response";

describe("OpenAI chat completion → Anthropic Message", () => {
  it("translates a text answer with usage (prompt split into uncached input and cache reads)", () => {
    const completion = chatText.completion as unknown as ChatCompletion;
    const message = toAnthropicMessage(completion);
    expect(message).toMatchObject({
      id: `msg_${completion.id}`,
      type: "message",
      role: "assistant",
      model: completion.model,
      content: [{ type: "text", text: completion.choices[0]!.message.content }],
      stop_reason: "end_turn",
      stop_sequence: null,
    });
    const u = completion.usage!;
    expect(message.usage).toEqual({
      input_tokens: u.prompt_tokens - (u.prompt_tokens_details?.cached_tokens ?? 0),
      cache_read_input_tokens: u.prompt_tokens_details?.cached_tokens ?? 0,
      cache_creation_input_tokens: 0,
      output_tokens: u.completion_tokens,
    });
  });

  it("turns parallel tool_calls into tool_use blocks with object inputs and stop_reason tool_use", () => {
    const message = toAnthropicMessage(chatTools.completion as unknown as ChatCompletion);
    expect(message.stop_reason).toBe("tool_use");
    expect(message.content).toEqual([
      { type: "tool_use", id: "call_Qd8nVZl1sYkT0pE3mR2wX9aB", name: "get_weather", input: { city: "Paris", unit: "c" } },
      { type: "tool_use", id: "call_7HwLk2PqZ9sN4dX1vB8mT0cE", name: "get_time", input: { timezone: "Europe/Paris" } },
    ]);
  });

  it("maps length and content_filter stops, cached prompt tokens, reasoning and unparseable arguments", () => {
    const message = toAnthropicMessage({
      id: "chatcmpl-1",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [
        {
          index: 0,
          logprobs: null,
          finish_reason: "length",
          message: {
            role: "assistant",
            content: "partial",
            refusal: null,
            reasoning_content: "thinking…",
            tool_calls: [{ id: "c1", type: "function", function: { name: "f", arguments: "{broken" } }],
          } as never,
        },
      ],
      usage: { prompt_tokens: 100, completion_tokens: 20, total_tokens: 120, prompt_tokens_details: { cached_tokens: 60, cache_write_tokens: 10 } },
    });
    expect(message.stop_reason).toBe("max_tokens");
    expect(message.content).toEqual([
      { type: "thinking", thinking: "thinking…", signature: "" },
      { type: "text", text: "partial" },
      { type: "tool_use", id: "c1", name: "f", input: { raw_arguments: "{broken" } },
    ]);
    expect(message.usage).toEqual({ input_tokens: 30, cache_read_input_tokens: 60, cache_creation_input_tokens: 10, output_tokens: 20 });
    const filtered = toAnthropicMessage({
      id: "x",
      object: "chat.completion",
      created: 1,
      model: "m",
      choices: [{ index: 0, logprobs: null, finish_reason: "content_filter", message: { role: "assistant", content: null, refusal: null } }],
    });
    expect(filtered.stop_reason).toBe("refusal");
    expect(filtered.content).toEqual([]);
  });
});
