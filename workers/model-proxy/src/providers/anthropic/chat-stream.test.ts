import { describe, expect, it } from "vitest";
import errorMidStream from "../../../../../test/fixtures/anthropic/stream-error-overloaded.sse?raw";
import refusalStream from "../../../../../test/fixtures/anthropic/stream-refusal.sse?raw";
import textStream from "../../../../../test/fixtures/anthropic/stream-text.sse?raw";
import toolStream from "../../../../../test/fixtures/anthropic/stream-tool-use.sse?raw";
import truncated from "../../../../../test/fixtures/anthropic/stream-truncated.sse?raw";
import text from "../../../../../test/fixtures/anthropic/message-text.json";
import toolUse from "../../../../../test/fixtures/anthropic/message-tool-use.json";
import { assemble, readOpenAISse, translateSse } from "../translation-test-utils";
import type { AnthropicMessage } from "./api";
import { toChatCompletion } from "./chat-response";
import { anthropicToOpenAIStream } from "./chat-stream";
import { anthropicStreamError } from "./errors";
import type { ProviderConfig } from "../types";

const provider = {
  id: "p1",
  name: "claude",
  type: "anthropic",
  baseUrl: "https://api.anthropic.com/v1",
  apiKey: "sk-ant-secret",
  headers: {},
  timeoutMs: 30_000,
  models: null,
} satisfies ProviderConfig;
const errorFor = (detail: Parameters<typeof anthropicStreamError>[0]) => anthropicStreamError(detail, provider);
const run = async (sse: string, includeUsage = true) => readOpenAISse(await translateSse(sse, anthropicToOpenAIStream({ includeUsage, errorFor })));

describe("Anthropic SSE → OpenAI chunks", () => {
  it("streams text deltas as OpenAI chunks sharing one id and model, ending in [DONE]", async () => {
    const view = await run(textStream);
    expect(view.done).toBe(true);
    expect(view.errors).toEqual([]);
    expect(new Set(view.chunks.map((c) => c.id))).toEqual(new Set(["msg_01XFDUDYJgAACzvnptvVoYEL"]));
    expect(view.chunks.every((c) => c.object === "chat.completion.chunk" && c.model === "claude-sonnet-4-5-20250929")).toBe(true);
    expect(view.chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "" });
    // One chunk per upstream text delta: nothing is held back.
    expect(view.chunks.slice(1, 4).map((c) => c.choices[0]!.delta.content)).toEqual(["Hello!", " The capital of France", " is Paris."]);
    const message = assemble(view.chunks);
    expect(message.content).toBe("Hello! The capital of France is Paris.");
    expect(message.finish).toBe("stop");
  });

  it("reports exactly the usage of the non-streamed response (cache tokens included)", async () => {
    const streamed = assemble((await run(textStream)).chunks).usage;
    expect(streamed).toEqual(toChatCompletion(text as AnthropicMessage).usage);
    const streamedTools = assemble((await run(toolStream)).chunks).usage;
    expect(streamedTools).toEqual(toChatCompletion(toolUse as AnthropicMessage).usage);
    // The usage chunk is OpenAI's: no choices.
    const view = await run(textStream);
    const usageChunk = view.chunks.find((c) => c.usage);
    expect(usageChunk?.choices).toEqual([]);
  });

  it("omits the usage chunk when neither the client nor the gateway asked for it", async () => {
    const view = await run(textStream, false);
    expect(view.chunks.some((c) => c.usage)).toBe(false);
    expect(view.done).toBe(true);
  });

  it("streams tool_use as tool_calls: id and name first, then argument fragments at the same index", async () => {
    const view = await run(toolStream);
    const toolChunks = view.chunks.filter((c) => c.choices[0]?.delta.tool_calls);
    expect(toolChunks[0]!.choices[0]!.delta.tool_calls).toEqual([
      { index: 0, id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", type: "function", function: { name: "get_weather", arguments: "" } },
    ]);
    // Three non-empty input_json_delta fragments → three argument deltas (the empty one is skipped).
    expect(toolChunks.slice(1).map((c) => c.choices[0]!.delta.tool_calls![0]!.function!.arguments)).toEqual([
      '{"location":',
      ' "Paris, France"',
      ', "unit": "celsius"}',
    ]);
    const message = assemble(view.chunks);
    expect(message.content).toBe("I'll check the weather in Paris for you.");
    expect(message.tools).toEqual([
      { id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6", name: "get_weather", arguments: '{"location": "Paris, France", "unit": "celsius"}' },
    ]);
    expect(JSON.parse(message.tools[0]!.arguments)).toEqual({ location: "Paris, France", unit: "celsius" });
    expect(message.finish).toBe("tool_calls");
  });

  it("reports a streamed refusal as finish_reason content_filter", async () => {
    const message = assemble((await run(refusalStream)).chunks);
    expect(message.finish).toBe("content_filter");
    expect(message.content).toBe("I can't help with that.");
  });

  it("turns a mid-stream error event into an OpenAI error event and no [DONE]", async () => {
    const view = await run(errorMidStream);
    expect(assemble(view.chunks).content).toBe("Hello");
    expect(view.done).toBe(false);
    expect(view.errors).toEqual([
      {
        message: "Provider 'claude' failed (HTTP 529): Overloaded",
        type: "upstream_error",
        param: null,
        code: "upstream_error",
      },
    ]);
  });

  it("treats an upstream stream that ends before message_stop as a failure, not a complete answer", async () => {
    const view = await run(truncated);
    expect(view.done).toBe(false);
    expect(view.errors).toHaveLength(1);
    expect(view.errors[0]!.code).toBe("upstream_error");
    expect(view.errors[0]!.message).toBe("Provider 'claude' failed (HTTP 500): the upstream stream ended before the message was complete");
    expect(assemble(view.chunks).finish).toBeNull();
  });
});
