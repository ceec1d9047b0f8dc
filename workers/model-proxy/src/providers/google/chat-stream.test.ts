import { describe, expect, it } from "vitest";
import functionCallText from "../../../../../test/fixtures/google/generate-function-call-text.json";
import text from "../../../../../test/fixtures/google/generate-text.json";
import errorStream from "../../../../../test/fixtures/google/stream-error.sse?raw";
import functionStream from "../../../../../test/fixtures/google/stream-function-call.sse?raw";
import safetyStream from "../../../../../test/fixtures/google/stream-safety.sse?raw";
import textStream from "../../../../../test/fixtures/google/stream-text.sse?raw";
import truncated from "../../../../../test/fixtures/google/stream-truncated.sse?raw";
import { geminiProvider } from "../adapter-test-utils";
import { assemble, readOpenAISse, translateSse } from "../translation-test-utils";
import type { GeminiResponse } from "./api";
import { toChatCompletion } from "./chat-response";
import { geminiToOpenAIStream } from "./chat-stream";
import { geminiStreamError } from "./errors";

const provider = geminiProvider();
const run = async (sse: string, includeUsage = true) =>
  readOpenAISse(await translateSse(sse, geminiToOpenAIStream({ model: "gemini-2.5-flash", includeUsage, errorFor: (e) => geminiStreamError(e, provider) })));

describe("Gemini SSE → OpenAI chunks", () => {
  it("streams text incrementally (CRLF-framed events), ending in [DONE]", async () => {
    const view = await run(textStream);
    expect(view.done).toBe(true);
    expect(view.errors).toEqual([]);
    expect(view.chunks[0]!.choices[0]!.delta).toEqual({ role: "assistant", content: "" });
    expect(view.chunks.slice(1, 3).map((c) => c.choices[0]!.delta.content)).toEqual(["The capital", " of France is Paris."]);
    expect(new Set(view.chunks.map((c) => c.id))).toEqual(new Set(["pwG4aPeZLoy-nvgPlqn_mAo"]));
    const message = assemble(view.chunks);
    expect(message.content).toBe("The capital of France is Paris.");
    expect(message.finish).toBe("stop");
  });

  it("reports the same usage as the non-streamed response", async () => {
    expect(assemble((await run(textStream)).chunks).usage).toEqual(toChatCompletion(text as GeminiResponse, "m").usage);
    expect(assemble((await run(functionStream)).chunks).usage).toEqual(toChatCompletion(functionCallText as GeminiResponse, "m").usage);
    expect((await run(textStream, false)).chunks.some((c) => c.usage)).toBe(false);
  });

  it("streams a function call as one tool_calls delta with complete arguments", async () => {
    const view = await run(functionStream);
    const message = assemble(view.chunks);
    expect(message.content).toBe("Let me look that up.");
    expect(message.tools).toHaveLength(1);
    expect(message.tools[0]!.name).toBe("get_weather");
    expect(message.tools[0]!.id).toMatch(/^call_/);
    expect(JSON.parse(message.tools[0]!.arguments)).toEqual({ location: "Paris, France", unit: "celsius" });
    expect(message.finish).toBe("tool_calls");
    const toolDelta = view.chunks.find((c) => c.choices[0]?.delta.tool_calls)!.choices[0]!.delta.tool_calls![0]!;
    expect(toolDelta).toMatchObject({
      index: 0,
      type: "function",
      extra_content: { google: { thought_signature: "CiQB0e2Kb7sE2vL5q0bYQy0n4lV7pQ5mFq6p0dSxYbQ0Q1Jk9CA=" } },
    });
  });

  it("ends a stream Gemini stopped for safety with finish_reason content_filter", async () => {
    const view = await run(safetyStream);
    const message = assemble(view.chunks);
    expect(message.content).toBe("Here is how");
    expect(message.finish).toBe("content_filter");
    expect(view.done).toBe(true);
  });

  it("turns an error object inside the stream into an OpenAI error event and no [DONE]", async () => {
    const view = await run(errorStream);
    expect(assemble(view.chunks).content).toBe("The capital");
    expect(view.done).toBe(false);
    expect(view.errors).toEqual([
      {
        message: "Provider 'gemini' failed (HTTP 503): The model is overloaded. Please try again later.",
        type: "upstream_error",
        param: null,
        code: "upstream_error",
      },
    ]);
  });

  it("treats a stream that closes before every candidate finished as broken", async () => {
    const view = await run(truncated);
    expect(view.done).toBe(false);
    expect(view.errors[0]!.message).toContain("ended before the response was complete");
  });

  it("answers a prompt blocked outright with a content_filter finish", async () => {
    const blocked = `data: ${JSON.stringify({ promptFeedback: { blockReason: "PROHIBITED_CONTENT" }, usageMetadata: { promptTokenCount: 7, totalTokenCount: 7 } })}\r\n\r\n`;
    const view = await run(blocked);
    expect(assemble(view.chunks).finish).toBe("content_filter");
    expect(assemble(view.chunks).usage).toMatchObject({ prompt_tokens: 7 });
    expect(view.done).toBe(true);
  });
});
