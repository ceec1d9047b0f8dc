import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { estimateMessagesPromptTokens, MessagesRequestSchema } from "../../../shared/src/anthropic";
import { API_KEY_SECURITY, jsonBody } from "../admin/openapi";
import { apiKeyAuth } from "../middleware/api-key";
import { proxyOperation } from "../openai/proxy";
import type { GatewayBindings } from "../types";
import { anthropicErrors, checkAnthropicVersion } from "./errors";
import { observeAnthropicJson } from "./json-tap";
import { tapAnthropicSse } from "./sse-tap";

/** Anthropic's error body, as documented for `/v1/messages`. */
const AnthropicErrorSchema = z
  .object({ type: z.literal("error"), error: z.object({ type: z.string(), message: z.string() }), request_id: z.string().optional() })
  .openapi("AnthropicError");
const errors = (description: string) => ({ description, content: { "application/json": { schema: AnthropicErrorSchema } } });

/**
 * `POST /v1/messages`: Anthropic's Messages API on the gateway, so `@anthropic-ai/sdk` works with
 * `baseURL` set to the gateway and a gateway key as its `x-api-key`. Served by any provider —
 * passed through to Anthropic upstreams, translated for the others (model-proxy decides per
 * target) — with Anthropic's response, SSE and error shapes. It shares the OpenAI routes' hot
 * path (auth, scope `chat`, model allow-list, one limiter call reserving `max_tokens`, usage
 * metering), with taps that read Anthropic's usage.
 */
export function registerMessages(app: OpenAPIHono<GatewayBindings>): void {
  // Error rendering sits outside auth, so a bad key is Anthropic-shaped too.
  app.use("/v1/messages", anthropicErrors(), apiKeyAuth());
  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/messages",
    tags: ["anthropic"],
    summary: "Create a message (Anthropic Messages API; streamed or not)",
    description:
      'Anthropic\'s request and response format, for `@anthropic-ai/sdk` (`x-api-key: <gateway key>`, `anthropic-version: 2023-06-01`). Any model the key may use: Anthropic providers answer natively, others are translated. With `stream: true` the answer is Anthropic\'s event stream (`message_start` … `message_stop`); a failure mid-way ends it with an `error` event. Errors are `{"type":"error","error":{"type","message"}}`.',
    security: API_KEY_SECURITY,
    request: jsonBody(MessagesRequestSchema as never),
    responses: {
      200: {
        description: "The Message (JSON), or its event stream (SSE)",
        content: { "application/json": { schema: { type: "object" } }, "text/event-stream": { schema: { type: "string" } } },
      },
      400: errors("Invalid request; the message names the field"),
      401: errors("Missing or invalid gateway key"),
      403: errors("The key may not use this model or operation"),
      404: errors("Unknown model"),
      429: errors("A rate limit or budget, or the provider's own rate limit; see `retry-after`"),
      502: errors("The provider failed, or rejected the gateway's credentials for it"),
      503: errors("A gateway dependency or the provider is unavailable; retry"),
      504: errors("The provider did not answer in time"),
    },
  });
  app.post("/v1/messages", (c) => {
    checkAnthropicVersion(c.req.raw.headers);
    return proxyOperation(c, {
      operation: "messages",
      scope: "chat",
      schema: MessagesRequestSchema,
      estimate: (body) => ({ promptTokens: estimateMessagesPromptTokens(body), completion: { maxPerChoice: body.max_tokens, choices: 1 } }),
      forwardHeaders: ["anthropic-version", "anthropic-beta"],
      taps: { sse: tapAnthropicSse, json: observeAnthropicJson },
    });
  });
}
