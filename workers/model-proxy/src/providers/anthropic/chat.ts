import { SSE_HEADERS, sseEvents } from "../../../../shared/src";
import { readUpstreamJson, wantsStreamUsage, type ChatRequest } from "../chat-translation";
import type { AdapterContext, Target } from "../types";
import { fetchUpstream } from "../upstream-errors";
import { anthropicHeaders, messagesUrl, type AnthropicMessage } from "./api";
import { toAnthropicRequest } from "./chat-request";
import { toChatCompletion } from "./chat-response";
import { anthropicToOpenAIStream } from "./chat-stream";
import { anthropicStreamError } from "./errors";

/**
 * `chat` on an Anthropic provider: the OpenAI request is translated to a Messages request, sent,
 * and the answer translated back — as one JSON body, or as a stream translated event by event.
 * Upstream HTTP errors are mapped by the shared rules (upstream-errors.ts): Anthropic's error body
 * has the `error.message` those rules read.
 */
export async function anthropicChat(body: ChatRequest, target: Target, ctx: AdapterContext): Promise<Response> {
  const { provider } = target;
  const request = toAnthropicRequest(body, target.model);
  const headers = anthropicHeaders(provider);
  headers.set("accept", request.stream ? "text/event-stream" : "application/json");
  const upstream = await fetchUpstream(messagesUrl(provider), { method: "POST", headers, body: JSON.stringify(request) }, provider, ctx);

  // Anthropic's own request id, for support tickets (model-proxy exposes it as x-gateway-upstream-request-id).
  const upstreamId = upstream.headers.get("request-id");
  const idHeader: Record<string, string> = upstreamId ? { "x-request-id": upstreamId } : {};
  if (request.stream !== true || !upstream.body) {
    const message = await readUpstreamJson<AnthropicMessage>(upstream, provider.name);
    return Response.json(toChatCompletion(message), { headers: idHeader });
  }

  const translated = upstream.body
    .pipeThrough(sseEvents())
    .pipeThrough(
      anthropicToOpenAIStream({
        includeUsage: wantsStreamUsage(body, ctx),
        errorFor: (detail) => anthropicStreamError(detail, provider),
      }),
    )
    .pipeThrough(new TextEncoderStream());
  return new Response(translated, { headers: { ...SSE_HEADERS, ...idHeader } });
}
