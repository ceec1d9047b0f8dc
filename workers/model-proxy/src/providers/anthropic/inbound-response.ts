import { anthropicUsageOf as anthropicUsageOfRecord, usageFromOpenAI, ZERO_USAGE } from "../../../../shared/src/token-usage";
import type { ChatCompletion, CompletionUsage } from "../chat-translation";
import type { AnthropicContentBlock, AnthropicMessage, AnthropicStopReason } from "./api";

/**
 * OpenAI chat completion → Anthropic Message, for `/v1/messages` served by a non-Anthropic provider.
 * - `finish_reason`: stop → `end_turn`, length → `max_tokens`, tool_calls/function_call →
 *   `tool_use`, content_filter → `refusal`.
 * - Usage: OpenAI's `prompt_tokens` includes cached tokens, Anthropic's `input_tokens` does not:
 *   input = prompt − cache reads − cache writes; cache reads/writes keep their own fields.
 * - `reasoning_content` (DeepSeek/vLLM/Gemini-through-the-gateway) → a leading `thinking` block
 *   without signature; tool call arguments → `input` objects (unparseable arguments are kept as
 *   `{"raw_arguments": "…"}` rather than lost).
 */
export function stopReasonOf(finish: string | null | undefined): AnthropicStopReason {
  switch (finish) {
    case "length":
      return "max_tokens";
    case "tool_calls":
    case "function_call":
      return "tool_use";
    case "content_filter":
      return "refusal";
    default:
      return "end_turn";
  }
}

/** OpenAI usage → Anthropic usage, through the one normaliser (shared/src/token-usage.ts). */
export function anthropicUsageOf(usage: CompletionUsage | null | undefined): ReturnType<typeof anthropicUsageOfRecord> {
  return anthropicUsageOfRecord(usageFromOpenAI(usage) ?? ZERO_USAGE);
}

export function toolInput(args: string): Record<string, unknown> {
  if (args.trim() === "") return {};
  try {
    const value: unknown = JSON.parse(args);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // kept raw below
  }
  return { raw_arguments: args };
}

/** Anthropic message ids start with `msg_`; an upstream id is kept inside one for tracing. */
export function messageId(upstreamId: string | undefined): string {
  if (!upstreamId) return `msg_${crypto.randomUUID().replace(/-/g, "")}`;
  return upstreamId.startsWith("msg_") ? upstreamId : `msg_${upstreamId}`;
}

export function toAnthropicMessage(completion: ChatCompletion): AnthropicMessage {
  const choice = completion.choices[0];
  const message = (choice?.message ?? { content: null }) as ChatCompletion.Choice["message"] & { reasoning_content?: string };
  const content: AnthropicContentBlock[] = [];
  if (message.reasoning_content) content.push({ type: "thinking", thinking: message.reasoning_content, signature: "" });
  if (message.content) content.push({ type: "text", text: message.content });
  else if (message.refusal) content.push({ type: "text", text: message.refusal });
  for (const call of message.tool_calls ?? []) {
    if (call.type !== "function") continue;
    content.push({ type: "tool_use", id: call.id, name: call.function.name, input: toolInput(call.function.arguments) });
  }
  return {
    id: messageId(completion.id),
    type: "message",
    role: "assistant",
    model: completion.model,
    content,
    stop_reason: stopReasonOf(choice?.finish_reason),
    stop_sequence: null,
    usage: anthropicUsageOf(completion.usage),
  };
}
