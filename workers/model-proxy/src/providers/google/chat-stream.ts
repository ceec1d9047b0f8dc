import { newId, type ApiErrorInit, type SseEvent } from "../../../../shared/src";
import { ChunkWriter } from "../chat-translation";
import type { GeminiErrorBody, GeminiResponse, GeminiUsage } from "./api";
import { finishReasonOf, toolCallOf, usageOf } from "./chat-response";

export interface GeminiStreamOptions {
  /** The upstream model name, until Gemini names its `modelVersion`. */
  model: string;
  /** Emit OpenAI's trailing usage chunk (client asked `include_usage`, or the gateway meters). */
  includeUsage: boolean;
  /** A Gemini error object inside the stream (or a broken stream, null) as the gateway's error. */
  errorFor(error: GeminiErrorBody["error"] | null): ApiErrorInit;
}

/**
 * Gemini `streamGenerateContent?alt=sse` → OpenAI chat chunk SSE, one event at a time. Each Gemini
 * event is a partial GenerateContentResponse:
 * - the first event of each candidate opens its choice with the role chunk;
 * - text parts → `delta.content` (thought parts → `delta.reasoning_content`);
 * - a `functionCall` part (Gemini sends each call whole) → one `tool_calls` delta with id, name
 *   and the complete arguments;
 * - a `finishReason` → that choice's finish chunk; a blocked prompt → a `content_filter` finish;
 * - `usageMetadata` is cumulative; the last one seen is the stream's usage, sent after every
 *   choice has finished, then `[DONE]`.
 * Gemini has no end-of-stream event: the stream is complete when every candidate has finished.
 * An `{"error":…}` event, or a stream that closes before that, ends in OpenAI's error event.
 */
export function geminiToOpenAIStream(options: GeminiStreamOptions): TransformStream<SseEvent, string> {
  let writer: ChunkWriter | null = null;
  const opened = new Set<number>();
  const finished = new Set<number>();
  const toolCount = new Map<number, number>();
  let usage: GeminiUsage | undefined;
  let failed = false;

  const writerFor = (response: GeminiResponse) =>
    (writer ??= new ChunkWriter(response.responseId ?? newId("chatcmpl"), response.modelVersion ?? options.model));

  return new TransformStream<SseEvent, string>({
    transform(sse, controller) {
      if (failed || sse.data.trim() === "") return;
      let response: GeminiResponse & Partial<GeminiErrorBody>;
      try {
        response = JSON.parse(sse.data) as GeminiResponse & Partial<GeminiErrorBody>;
      } catch {
        failed = true;
        controller.enqueue((writer ?? new ChunkWriter(newId("chatcmpl"), options.model)).error(options.errorFor(null)));
        return;
      }
      if (response.error) {
        failed = true;
        controller.enqueue((writer ?? new ChunkWriter(newId("chatcmpl"), options.model)).error(options.errorFor(response.error)));
        return;
      }
      const out = writerFor(response);
      if (response.usageMetadata) usage = response.usageMetadata;

      const candidates = response.candidates ?? [];
      if (candidates.length === 0 && response.promptFeedback?.blockReason && !finished.has(0)) {
        if (!opened.has(0)) controller.enqueue(out.chunk({ role: "assistant", content: "" }, null, 0));
        opened.add(0);
        finished.add(0);
        controller.enqueue(out.chunk({}, "content_filter", 0));
        return;
      }
      candidates.forEach((candidate, position) => {
        const index = candidate.index ?? position;
        if (finished.has(index)) return;
        if (!opened.has(index)) {
          opened.add(index);
          controller.enqueue(out.chunk({ role: "assistant", content: "" }, null, index));
        }
        for (const part of candidate.content?.parts ?? []) {
          if (part.functionCall) {
            const k = toolCount.get(index) ?? 0;
            toolCount.set(index, k + 1);
            const call = toolCallOf(part);
            controller.enqueue(out.chunk({ tool_calls: [{ index: k, ...call }] }, null, index));
          } else if (typeof part.text === "string" && part.text !== "") {
            controller.enqueue(out.chunk(part.thought ? { reasoning_content: part.text } : { content: part.text }, null, index));
          }
        }
        if (candidate.finishReason) {
          finished.add(index);
          controller.enqueue(out.chunk({}, finishReasonOf(candidate.finishReason, (toolCount.get(index) ?? 0) > 0), index));
        }
      });
    },
    flush(controller) {
      if (failed) return;
      const complete = opened.size > 0 && [...opened].every((i) => finished.has(i));
      if (!complete || !writer) {
        controller.enqueue((writer ?? new ChunkWriter(newId("chatcmpl"), options.model)).error(options.errorFor(null)));
        return;
      }
      if (options.includeUsage) controller.enqueue(writer.usage(usageOf(usage)));
      controller.enqueue(writer.done());
    },
  });
}
