import type { ChatCompletionMessageFunctionToolCall } from "openai/resources/chat/completions";
import { newId } from "../../../../shared/src";
import { openAIUsageOf, usageFromGemini } from "../../../../shared/src/token-usage";
import type { ChatCompletion, CompletionUsage, FinishReason } from "../chat-translation";
import type { GeminiCandidate, GeminiPart, GeminiResponse, GeminiUsage } from "./api";

/**
 * Gemini `finishReason` → OpenAI `finish_reason`. Every safety-family stop (SAFETY, RECITATION,
 * BLOCKLIST, PROHIBITED_CONTENT, SPII, IMAGE_SAFETY, LANGUAGE) is `content_filter`; a STOP after
 * function calls is `tool_calls`. Gemini's tool-call failures (MALFORMED_FUNCTION_CALL, …) and
 * OTHER end the turn without an answer OpenAI has a name for, so they are `stop`.
 */
export function finishReasonOf(reason: string | undefined, sawToolCall: boolean): FinishReason {
  switch (reason) {
    case "MAX_TOKENS":
      return "length";
    case "SAFETY":
    case "RECITATION":
    case "BLOCKLIST":
    case "PROHIBITED_CONTENT":
    case "SPII":
    case "IMAGE_SAFETY":
    case "LANGUAGE":
      return "content_filter";
    default:
      return sawToolCall ? "tool_calls" : "stop";
  }
}

/**
 * Gemini usage → OpenAI usage, through the one normaliser (shared/src/token-usage.ts):
 * `promptTokenCount` already includes cached tokens (like OpenAI's `prompt_tokens`) and tool-use
 * prompt tokens are prompt too; thinking tokens are NOT in `candidatesTokenCount`, so they are
 * added to `completion_tokens` (OpenAI's accounting: `reasoning_tokens` is part of completion).
 */
export function usageOf(usage: GeminiUsage | undefined): CompletionUsage {
  return openAIUsageOf(usageFromGemini(usage));
}

export type GeminiToolCall = ChatCompletionMessageFunctionToolCall & { extra_content?: { google: { thought_signature: string } } };

/** A `functionCall` part → an OpenAI tool call. Gemini usually sends no id, so one is made. */
export function toolCallOf(part: GeminiPart): GeminiToolCall {
  const call = part.functionCall!;
  const out: GeminiToolCall = {
    id: call.id ?? newId("call"),
    type: "function",
    function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) },
  };
  if (part.thoughtSignature) out.extra_content = { google: { thought_signature: part.thoughtSignature } };
  return out;
}

function choiceOf(candidate: GeminiCandidate, index: number): ChatCompletion.Choice {
  let text = "";
  let reasoning = "";
  const toolCalls: GeminiToolCall[] = [];
  for (const part of candidate.content?.parts ?? []) {
    if (part.functionCall) toolCalls.push(toolCallOf(part));
    else if (typeof part.text === "string") {
      if (part.thought) reasoning += part.text;
      else text += part.text;
    }
  }
  const message: ChatCompletion.Choice["message"] & { reasoning_content?: string } = {
    role: "assistant",
    content: text === "" && (toolCalls.length > 0 || candidate.finishReason !== "STOP") ? null : text,
    refusal: null,
  };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (reasoning) message.reasoning_content = reasoning;
  return { index, message, logprobs: null, finish_reason: finishReasonOf(candidate.finishReason, toolCalls.length > 0) };
}

/**
 * A whole Gemini response → an OpenAI chat completion. A prompt Gemini blocked outright comes
 * back without candidates; the client gets one empty choice with `finish_reason: content_filter`.
 */
export function toChatCompletion(response: GeminiResponse, model: string, created = Math.floor(Date.now() / 1000)): ChatCompletion {
  const candidates = response.candidates ?? [];
  const choices =
    candidates.length > 0
      ? candidates.map((c, i) => choiceOf(c, c.index ?? i))
      : [
          {
            index: 0,
            message: { role: "assistant" as const, content: null, refusal: null },
            logprobs: null,
            finish_reason: response.promptFeedback?.blockReason ? ("content_filter" as const) : ("stop" as const),
          },
        ];
  return {
    id: response.responseId ?? newId("chatcmpl"),
    object: "chat.completion",
    created,
    model: response.modelVersion ?? model,
    choices,
    usage: usageOf(response.usageMetadata),
  };
}
