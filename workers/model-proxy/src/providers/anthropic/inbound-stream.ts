import { anthropicErrorEvent } from "../../../../shared/src/anthropic";
import { formatSseJson, type ApiErrorInit, type ErrorCode, type SseEvent } from "../../../../shared/src";
import type { ChatCompletionChunk, CompletionUsage } from "../chat-translation";
import { anthropicUsageOf, messageId, stopReasonOf } from "./inbound-response";

/**
 * OpenAI chat chunk SSE → Anthropic Messages SSE, event by event, for `/v1/messages` served by a
 * non-Anthropic provider. Every event carries its `event:` name (the Anthropic SDK ignores
 * unnamed ones):
 * - the first chunk → `message_start` (input usage is not known yet: 0, as Anthropic reports
 *   placeholders there too) and a `ping`;
 * - content deltas → a `text` block's `text_delta`s; `reasoning_content` → a `thinking` block;
 *   each tool call → its own `tool_use` block: `content_block_start` with id and name, then
 *   `input_json_delta`s of the argument fragments. A block is stopped when the next begins;
 * - after the finish reason and the usage chunk (the bridge asks the adapter for it), `[DONE]` →
 *   `message_delta` with the stop reason and the complete usage (input and cache counts included,
 *   which the SDK folds into the message), then `message_stop`. An upstream that reports no
 *   stream usage leaves the counts at 0, which the gateway's tap treats as "not reported" and
 *   estimates;
 * - an OpenAI error event → Anthropic's `error` event; a stream that ends before it finished → an
 *   `error` event too, never a silent truncation.
 * Tool calls are expected one after another (as OpenAI-compatible servers stream them); a
 * fragment for a call whose block was already closed cannot be placed and ends the stream with an
 * error rather than a wrong tool input.
 */
export function openAIToAnthropicStream(options: { model: string }): TransformStream<SseEvent, string> {
  let started = false;
  let index = -1;
  let open: { kind: "text" | "thinking" | "tool"; tool?: number } | null = null;
  const toolBlocks = new Map<number, number>();
  let finish: string | null = null;
  let usage: CompletionUsage | null = null;
  let ended = false;

  const start = (controller: TransformStreamDefaultController<string>, chunk: Partial<ChatCompletionChunk>) => {
    if (started) return;
    started = true;
    const message = {
      id: messageId(chunk.id),
      type: "message",
      role: "assistant",
      model: chunk.model ?? options.model,
      content: [],
      stop_reason: null,
      stop_sequence: null,
      usage: { input_tokens: 0, output_tokens: 0 },
    };
    controller.enqueue(formatSseJson({ type: "message_start", message }, "message_start"));
    controller.enqueue(formatSseJson({ type: "ping" }, "ping"));
  };
  const close = (controller: TransformStreamDefaultController<string>) => {
    if (!open) return;
    controller.enqueue(formatSseJson({ type: "content_block_stop", index }, "content_block_stop"));
    open = null;
  };
  const begin = (controller: TransformStreamDefaultController<string>, kind: "text" | "thinking", block: Record<string, unknown>) => {
    if (open?.kind === kind) return;
    close(controller);
    index++;
    open = { kind };
    controller.enqueue(formatSseJson({ type: "content_block_start", index, content_block: block }, "content_block_start"));
  };
  const delta = (controller: TransformStreamDefaultController<string>, d: Record<string, unknown>) =>
    controller.enqueue(formatSseJson({ type: "content_block_delta", index, delta: d }, "content_block_delta"));
  const fail = (controller: TransformStreamDefaultController<string>, init: ApiErrorInit) => {
    ended = true;
    controller.enqueue(anthropicErrorEvent(init));
  };
  const complete = (controller: TransformStreamDefaultController<string>) => {
    close(controller);
    const u = anthropicUsageOf(usage);
    controller.enqueue(formatSseJson({ type: "message_delta", delta: { stop_reason: stopReasonOf(finish), stop_sequence: null }, usage: u }, "message_delta"));
    controller.enqueue(formatSseJson({ type: "message_stop" }, "message_stop"));
    ended = true;
  };

  return new TransformStream<SseEvent, string>({
    transform(sse, controller) {
      if (ended || sse.data === "") return;
      if (sse.data === "[DONE]") {
        if (!started) return fail(controller, { code: "upstream_error", message: "The upstream stream ended before it sent anything." });
        if (finish === null) return fail(controller, { code: "upstream_error", message: "The upstream stream ended before the message was complete." });
        return complete(controller);
      }
      let chunk: Partial<ChatCompletionChunk> & { error?: { message?: string; code?: string | null; param?: string | null } };
      try {
        chunk = JSON.parse(sse.data) as typeof chunk;
      } catch {
        return fail(controller, { code: "upstream_error", message: "The upstream sent an unreadable stream event." });
      }
      if (chunk.error) {
        const code = (chunk.error.code ?? "upstream_error") as ErrorCode;
        return fail(controller, { code, message: chunk.error.message ?? "The upstream failed.", param: chunk.error.param ?? null });
      }
      start(controller, chunk);
      if (chunk.usage) usage = chunk.usage;
      for (const choice of chunk.choices ?? []) {
        if (choice.index !== 0) continue;
        const d = choice.delta as ChatCompletionChunk.Choice.Delta & { reasoning_content?: string };
        if (d.reasoning_content) {
          begin(controller, "thinking", { type: "thinking", thinking: "", signature: "" });
          delta(controller, { type: "thinking_delta", thinking: d.reasoning_content });
        }
        if (d.content) {
          begin(controller, "text", { type: "text", text: "" });
          delta(controller, { type: "text_delta", text: d.content });
        }
        for (const call of d.tool_calls ?? []) {
          if (!toolBlocks.has(call.index)) {
            close(controller);
            index++;
            toolBlocks.set(call.index, index);
            open = { kind: "tool", tool: call.index };
            const block = { type: "tool_use", id: call.id ?? `toolu_${crypto.randomUUID().replace(/-/g, "")}`, name: call.function?.name ?? "", input: {} };
            controller.enqueue(formatSseJson({ type: "content_block_start", index, content_block: block }, "content_block_start"));
          } else if (open?.kind !== "tool" || open.tool !== call.index) {
            return fail(controller, { code: "upstream_error", message: "The upstream interleaved tool calls, which Anthropic's stream format cannot carry." });
          }
          const fragment = call.function?.arguments;
          if (fragment) delta(controller, { type: "input_json_delta", partial_json: fragment });
        }
        if (choice.finish_reason) {
          finish = choice.finish_reason;
          close(controller);
        }
      }
    },
    flush(controller) {
      if (ended) return;
      // Some servers end a complete answer without `[DONE]`.
      if (started && finish !== null) return complete(controller);
      fail(controller, { code: "upstream_error", message: "The upstream stream ended before the message was complete." });
    },
  });
}
