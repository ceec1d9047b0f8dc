import type { MessagesRequest } from "../../../../shared/src/anthropic";
import { SSE_HEADERS, sseEvents, type ProxyOperation } from "../../../../shared/src";
import { readUpstreamJson, type ChatCompletion } from "../chat-translation";
import type { AdapterContext, ProviderAdapter, Target } from "../types";
import { toOpenAIChatRequest } from "./inbound-request";
import { toAnthropicMessage } from "./inbound-response";
import { openAIToAnthropicStream } from "./inbound-stream";

/**
 * Gives every adapter the `messages` operation (the gateway's Anthropic-compatible endpoint). An
 * adapter that speaks Anthropic natively serves it itself; any adapter that serves OpenAI chat
 * serves it through translation: Messages request → chat request → the adapter → chat answer →
 * Anthropic Message / events. The choice is made per target, so a route that falls back from an
 * Anthropic deployment to another provider keeps answering in Anthropic's format.
 */
export function withMessages(inner: ProviderAdapter): ProviderAdapter {
  return {
    ...(inner.countMessageTokens ? { countMessageTokens: inner.countMessageTokens.bind(inner) } : {}),
    supports: (operation: ProxyOperation) => (operation === "messages" ? inner.supports("messages") || inner.supports("chat") : inner.supports(operation)),
    call: (operation, body, target, ctx) =>
      operation !== "messages" || inner.supports("messages") ? inner.call(operation, body, target, ctx) : messagesThroughChat(inner, body, target, ctx),
  };
}

const OPENAI_NATIVE = new Set(["openai", "azure-openai"]);

async function messagesThroughChat(inner: ProviderAdapter, body: Record<string, unknown>, target: Target, ctx: AdapterContext): Promise<Response> {
  const chat = toOpenAIChatRequest(body as MessagesRequest);
  if (OPENAI_NATIVE.has(target.provider.type)) {
    // OpenAI's own API refuses `max_tokens` for its reasoning models; every model there takes
    // `max_completion_tokens`. Compatible servers know `max_tokens` best.
    if (chat.max_tokens !== undefined) {
      chat.max_completion_tokens = chat.max_tokens;
      delete chat.max_tokens;
    }
    // `top_k` is a vendor extension OpenAI's API refuses ("Unrecognized request argument"): a
    // sampling hint with no OpenAI equivalent, dropped like the other hints it cannot honour.
    delete chat["top_k"];
  }
  const stream = chat.stream === true;
  const answer = await inner.call("chat", chat, target, { ...ctx, forceStreamUsage: stream });
  const isSse = (answer.headers.get("content-type") ?? "").startsWith("text/event-stream");
  if (!isSse || !answer.body) {
    const completion = await readUpstreamJson<ChatCompletion>(answer, target.provider.name);
    return Response.json(toAnthropicMessage(completion), { status: answer.status });
  }
  const translated = answer.body
    .pipeThrough(sseEvents())
    .pipeThrough(openAIToAnthropicStream({ model: target.model }))
    .pipeThrough(new TextEncoderStream());
  return new Response(translated, { headers: SSE_HEADERS });
}
