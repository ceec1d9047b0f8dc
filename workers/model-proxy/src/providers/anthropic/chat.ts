import { SSE_HEADERS, sseEvents } from "../../../../shared/src";
import {
  fetchUpstream,
  readUpstreamJson,
  wantsStreamUsage,
  type ChatRequest,
} from "../chat-translation";
import type { AdapterContext, Target } from "../types";
import { anthropicHeaders, messagesUrl, type AnthropicMessage } from "./api";
import { toAnthropicRequest } from "./chat-request";
import { toChatCompletion } from "./chat-response";
import { anthropicToOpenAIStream } from "./chat-stream";
import { anthropicError, readAnthropicError } from "./errors";

/**
 * `chat` on an Anthropic provider: the OpenAI request is translated to a Messages request, sent,
 * and the answer translated back — as one JSON body, or as a stream translated event by event.
 */
export async function anthropicChat(body: ChatRequest, target: Target, ctx: AdapterContext): Promise<Response> {
  const { provider } = target;
  const label = `Provider '${provider.name}' (anthropic)`;
  const request = toAnthropicRequest(body, target.model);
  const errorContext = { providerName: provider.name, apiKey: provider.apiKey };

  const upstream = await fetchUpstream(
    messagesUrl(provider),
    { method: "POST", headers: anthropicHeaders(provider), body: JSON.stringify(request) },
    ctx,
    label,
    async (res) =>
      anthropicError(readAnthropicError(await res.text()), {
        ...errorContext,
        status: res.status,
        retryAfter: res.headers.get("retry-after"),
      }),
  );

  if (request.stream !== true || !upstream.body) {
    const message = await readUpstreamJson<AnthropicMessage>(upstream, label);
    return Response.json(toChatCompletion(message));
  }

  const translated = upstream.body
    .pipeThrough(sseEvents())
    .pipeThrough(
      anthropicToOpenAIStream({
        includeUsage: wantsStreamUsage(body, ctx),
        errorFor: (detail) => anthropicError(detail, errorContext),
      }),
    )
    .pipeThrough(new TextEncoderStream());
  return new Response(translated, { headers: SSE_HEADERS });
}
