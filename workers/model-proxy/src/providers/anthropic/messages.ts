import type { AdapterContext, Target } from "../types";
import { fetchUpstream } from "../upstream-errors";
import { anthropicHeaders, messagesUrl } from "./api";

/**
 * `/v1/messages` on an Anthropic provider: the client's Messages request goes upstream as it is
 * (only `model` becomes the upstream model name) and the answer — JSON or SSE — comes back byte
 * for byte, never parsed or re-serialised on the way. Upstream HTTP errors follow the shared rules.
 */
export async function anthropicMessages(body: Record<string, unknown>, target: Target, ctx: AdapterContext): Promise<Response> {
  const { provider } = target;
  const stream = body["stream"] === true;
  const headers = anthropicHeaders(provider, ctx.clientHeaders ?? {});
  headers.set("accept", stream ? "text/event-stream" : "application/json");
  const upstream = await fetchUpstream(
    messagesUrl(provider),
    { method: "POST", headers, body: JSON.stringify({ ...body, model: target.model }) },
    provider,
    ctx,
  );
  const out = new Headers({ "content-type": upstream.headers.get("content-type") ?? (stream ? "text/event-stream" : "application/json") });
  const requestId = upstream.headers.get("request-id");
  if (requestId) out.set("x-request-id", requestId);
  return new Response(upstream.body, { status: upstream.status, headers: out });
}
