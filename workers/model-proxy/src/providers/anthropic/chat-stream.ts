import type { ApiErrorInit, SseEvent } from "../../../../shared/src";
import { ChunkWriter } from "../chat-translation";
import { mergeAnthropicUsage } from "../../../../shared/src/token-usage";
import type { AnthropicErrorDetail, AnthropicStopReason, AnthropicStreamEvent, AnthropicUsage } from "./api";
import { finishReasonOf, usageOf } from "./chat-response";

export interface AnthropicStreamOptions {
  /** Emit OpenAI's trailing usage chunk (client asked `include_usage`, or the gateway meters). */
  includeUsage: boolean;
  /** Turns an Anthropic `error` event (or a broken stream) into the gateway's error. */
  errorFor(detail: AnthropicErrorDetail | null): ApiErrorInit;
}

/**
 * Anthropic Messages SSE → OpenAI chat chunk SSE, one event at a time (nothing is held back):
 * - `message_start` → the role chunk; its usage (input and cache tokens) is remembered.
 * - text blocks → `delta.content`; thinking → `delta.reasoning_content`.
 * - a `tool_use` block → a `tool_calls` delta with id, name and empty arguments, then each
 *   `input_json_delta` → an `arguments` fragment at the same tool index (OpenAI's streaming shape).
 * - `message_delta` → stop reason and cumulative usage; `message_stop` → the finish chunk, the
 *   usage chunk when asked, then `[DONE]`.
 * - an `error` event → OpenAI's `data: {"error":…}` (the SDK raises it) and the stream ends without
 *   `[DONE]`; so does an upstream stream that ends before `message_stop`.
 * Usage comes from the same fields as the non-streamed response, so the totals are identical.
 */
export function anthropicToOpenAIStream(options: AnthropicStreamOptions): TransformStream<SseEvent, string> {
  let writer: ChunkWriter | null = null;
  const toolIndexByBlock = new Map<number, number>();
  let usage: AnthropicUsage = {};
  let stopReason: AnthropicStopReason | null = null;
  let ended = false;

  const fail = (controller: TransformStreamDefaultController<string>, detail: AnthropicErrorDetail | null) => {
    writer ??= new ChunkWriter("chatcmpl-error", "unknown");
    controller.enqueue(writer.error(options.errorFor(detail)));
    ended = true;
  };

  return new TransformStream<SseEvent, string>({
    transform(sse, controller) {
      if (ended || sse.data === "") return;
      let event: AnthropicStreamEvent;
      try {
        event = JSON.parse(sse.data) as AnthropicStreamEvent;
      } catch {
        fail(controller, { type: "api_error", message: "the upstream sent an unreadable stream event" });
        return;
      }
      switch (event.type) {
        case "message_start": {
          writer = new ChunkWriter(event.message.id, event.message.model);
          usage = mergeAnthropicUsage({}, event.message.usage);
          controller.enqueue(writer.chunk({ role: "assistant", content: "" }));
          break;
        }
        case "content_block_start": {
          if (!writer) break;
          const block = event.content_block as { type: string; id?: string; name?: string; text?: string };
          if (block.type === "tool_use") {
            const index = toolIndexByBlock.size;
            toolIndexByBlock.set(event.index, index);
            controller.enqueue(
              writer.chunk({
                tool_calls: [{ index, id: block.id!, type: "function", function: { name: block.name!, arguments: "" } }],
              }),
            );
          } else if (block.type === "text" && block.text) {
            controller.enqueue(writer.chunk({ content: block.text }));
          }
          break;
        }
        case "content_block_delta": {
          if (!writer) break;
          const delta = event.delta as { type: string; text?: string; partial_json?: string; thinking?: string };
          if (delta.type === "text_delta" && delta.text) {
            controller.enqueue(writer.chunk({ content: delta.text }));
          } else if (delta.type === "input_json_delta" && delta.partial_json) {
            const index = toolIndexByBlock.get(event.index);
            if (index !== undefined) {
              controller.enqueue(writer.chunk({ tool_calls: [{ index, function: { arguments: delta.partial_json } }] }));
            }
          } else if (delta.type === "thinking_delta" && delta.thinking) {
            controller.enqueue(writer.chunk({ reasoning_content: delta.thinking }));
          }
          // signature and citation deltas have no OpenAI counterpart.
          break;
        }
        case "message_delta": {
          stopReason = event.delta.stop_reason ?? stopReason;
          // message_delta usage is cumulative; newer API versions repeat input/cache counts here.
          usage = mergeAnthropicUsage(usage, event.usage);
          break;
        }
        case "message_stop": {
          if (!writer) break;
          controller.enqueue(writer.chunk({}, finishReasonOf(stopReason, toolIndexByBlock.size > 0)));
          if (options.includeUsage) controller.enqueue(writer.usage(usageOf(usage)));
          controller.enqueue(writer.done());
          ended = true;
          break;
        }
        case "error":
          fail(controller, event.error ?? null);
          break;
        default:
          // ping, content_block_stop and event types added after this adapter was written.
          break;
      }
    },
    flush(controller) {
      if (!ended) fail(controller, { type: "api_error", message: "the upstream stream ended before the message was complete" });
    },
  });
}
