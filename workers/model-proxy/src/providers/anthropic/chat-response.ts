import type { ChatCompletionMessageToolCall } from "openai/resources/chat/completions";
import { openAIUsage, type ChatCompletion, type CompletionUsage, type FinishReason } from "../chat-translation";
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
 * Anthropic usage → OpenAI usage. Anthropic's `input_tokens` excludes cached tokens, while
 * OpenAI's `prompt_tokens` includes them, so the prompt is the sum of uncached, cache-read and
 * cache-write tokens; cache reads are `cached_tokens` and cache writes `cache_write_tokens`.
 */
export function usageOf(usage: AnthropicUsage): CompletionUsage {
  const cachedRead = usage.cache_read_input_tokens ?? 0;
  const cacheWrite = usage.cache_creation_input_tokens ?? 0;
  return openAIUsage({
    prompt: (usage.input_tokens ?? 0) + cachedRead + cacheWrite,
    completion: usage.output_tokens ?? 0,
    cachedRead,
    cacheWrite,
    reasoning: usage.output_tokens_details?.thinking_tokens ?? 0,
  });
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
