import type { ChatCompletionMessageToolCall } from "openai/resources/chat/completions";
import { openAIUsageOf, usageFromAnthropic } from "../../../../shared/src/token-usage";
import type { ChatCompletion, CompletionUsage, FinishReason } from "../chat-translation";
import type { AnthropicMessage, AnthropicStopReason, AnthropicUsage } from "./api";

/**
 * Anthropic `stop_reason` → OpenAI `finish_reason`. A refusal is the model declining on policy
 * grounds, which OpenAI reports as `content_filter`; running out of context is a length stop.
 */
export function finishReasonOf(stop: AnthropicStopReason | null | undefined, sawToolUse: boolean): FinishReason {
  switch (stop) {
    case "max_tokens":
    case "model_context_window_exceeded":
      return "length";
    case "tool_use":
      return "tool_calls";
    case "refusal":
      return "content_filter";
    case "end_turn":
    case "stop_sequence":
    case "pause_turn":
      return "stop";
    default:
      return sawToolUse ? "tool_calls" : "stop";
  }
}

/**
 * Anthropic usage → OpenAI usage, through the one normaliser (shared/src/token-usage.ts): the
 * prompt is uncached + cache-read + cache-write tokens; cache reads are `cached_tokens`, cache
 * writes `cache_write_tokens`, thinking tokens `reasoning_tokens` (inside `completion_tokens`).
 */
export function usageOf(usage: AnthropicUsage): CompletionUsage {
  return openAIUsageOf(usageFromAnthropic(usage));
}

/** A whole Anthropic message → an OpenAI chat completion. */
export function toChatCompletion(message: AnthropicMessage, created = Math.floor(Date.now() / 1000)): ChatCompletion {
  let text = "";
  let reasoning = "";
  const toolCalls: ChatCompletionMessageToolCall[] = [];
  for (const block of message.content) {
    if (block.type === "text") text += (block as { text: string }).text;
    else if (block.type === "thinking") reasoning += (block as { thinking: string }).thinking;
    else if (block.type === "tool_use") {
      const use = block as { id: string; name: string; input: unknown };
      toolCalls.push({
        id: use.id,
        type: "function",
        function: { name: use.name, arguments: JSON.stringify(use.input ?? {}) },
      });
    }
    // redacted_thinking and server-tool blocks carry nothing an OpenAI client can use.
  }
  const chatMessage: ChatCompletion.Choice["message"] & { reasoning_content?: string } = {
    role: "assistant",
    content: text === "" && toolCalls.length > 0 ? null : text,
    refusal: null,
  };
  if (toolCalls.length > 0) chatMessage.tool_calls = toolCalls;
  if (reasoning) chatMessage.reasoning_content = reasoning;
  return {
    id: message.id,
    object: "chat.completion",
    created,
    model: message.model,
    choices: [
      {
        index: 0,
        message: chatMessage,
        logprobs: null,
        finish_reason: finishReasonOf(message.stop_reason, toolCalls.length > 0),
      },
    ],
    usage: usageOf(message.usage ?? {}),
  };
}
