import { SSE_HEADERS, sseEvents } from "../../../../shared/src";
import { readUpstreamJson, wantsStreamUsage, type ChatRequest } from "../chat-translation";
import type { AdapterContext, Target } from "../types";
import { bareModel, GEMINI_API, geminiHeaders, geminiUrl, type GeminiResponse } from "./api";
import { toGeminiRequest } from "./chat-request";
import { toChatCompletion } from "./chat-response";
import { geminiToOpenAIStream } from "./chat-stream";
import { fetchUpstream } from "../upstream-errors";
import { geminiHttpError, geminiStreamError } from "./errors";

/**
 * `chat` on a Google provider: `generateContent` for a JSON answer, `streamGenerateContent?alt=sse`
 * for a stream, each translated from and to OpenAI's chat format.
 */
export async function geminiChat(body: ChatRequest, target: Target, ctx: AdapterContext): Promise<Response> {
  const { provider } = target;
  const model = bareModel(target.model);
  const request = toGeminiRequest(body, model);
  const stream = body.stream === true;
  const headers = geminiHeaders(provider, ctx);
  headers.set("accept", stream ? "text/event-stream" : "application/json");
  const path = stream ? GEMINI_API.paths.stream(model) : GEMINI_API.paths.generate(model);
  const upstream = await fetchUpstream(geminiUrl(provider, path), { method: "POST", headers, body: JSON.stringify(request) }, provider, ctx, geminiHttpError);

  if (!stream || !upstream.body) {
    const response = await readUpstreamJson<GeminiResponse>(upstream, provider.name);
    return Response.json(toChatCompletion(response, model));
  }
  const translated = upstream.body
    .pipeThrough(sseEvents())
    .pipeThrough(
      geminiToOpenAIStream({
        model,
        includeUsage: wantsStreamUsage(body, ctx),
        errorFor: (error) => geminiStreamError(error, provider),
      }),
    )
    .pipeThrough(new TextEncoderStream());
  return new Response(translated, { headers: SSE_HEADERS });
}
