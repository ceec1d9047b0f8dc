import { z, type OpenAPIHono } from "@hono/zod-openapi";
import { MessagesCountTokensRequestSchema, MessageTokensCountSchema } from "../../../shared/src/anthropic";
import { PROXY_OPERATIONS } from "../../../shared/src/proxy/operations";
import { jsonBody } from "../admin/openapi";
import { EXAMPLES } from "../docs/examples";
import { apiKeyAuth } from "../middleware/api-key";
import { proxyOperation } from "../openai/proxy";
import type { GatewayBindings } from "../types";
import { countTokens, TOKEN_COUNT_HEADER } from "./count-tokens";
import { anthropicErrors, checkAnthropicVersion } from "./errors";

/** Anthropic's error body, as documented for `/v1/messages`. */
const AnthropicErrorSchema = z
  .object({ type: z.literal("error"), error: z.object({ type: z.string(), message: z.string() }), request_id: z.string().optional() })
  .openapi("AnthropicError");
const errors = (description: string) => ({ description, content: { "application/json": { schema: AnthropicErrorSchema } } });
/** Anthropic's SDK sends its key in `x-api-key`; `Authorization: Bearer` works too. */
const ANTHROPIC_SECURITY: Record<string, string[]>[] = [{ AnthropicApiKey: [] }, { ApiKey: [] }];

/**
 * `POST /v1/messages`: Anthropic's Messages API on the gateway, so `@anthropic-ai/sdk` works with
 * `baseURL` set to the gateway and a gateway key as its `x-api-key`. Served by any provider —
 * passed through to Anthropic upstreams, translated for the others (model-proxy decides per
 * target) — with Anthropic's response, SSE and error shapes. It shares the OpenAI routes' hot
 * path (auth, scope `chat`, model allow-list, one limiter call reserving `max_tokens`, usage
 * metering), with taps that read Anthropic's usage.
 */
export function registerMessages(app: OpenAPIHono<GatewayBindings>): void {
  // Error rendering (and `request-id`) sits outside auth and covers every path under
  // /v1/messages, so a bad key and an unknown route are Anthropic-shaped too.
  app.use("/v1/messages/*", anthropicErrors());
  app.use("/v1/messages", apiKeyAuth());
  app.use("/v1/messages/count_tokens", apiKeyAuth());
  app.openAPIRegistry.registerComponent("securitySchemes", "AnthropicApiKey", {
    type: "apiKey",
    in: "header",
    name: "x-api-key",
    description: "A tenant API key, as Anthropic's SDK sends it.",
  });
  app.openAPIRegistry.registerPath({
    method: "post",
    path: `/v1${PROXY_OPERATIONS.messages.path}`,
    tags: ["anthropic"],
    summary: PROXY_OPERATIONS.messages.summary,
    description:
      'Anthropic\'s request and response format, for `@anthropic-ai/sdk` (`x-api-key: <gateway key>`, `anthropic-version: 2023-06-01`). Any model the key may use: Anthropic providers answer natively, others are translated. With `stream: true` the answer is Anthropic\'s event stream (`message_start` … `message_stop`); a failure mid-way ends it with an `error` event. Errors are `{"type":"error","error":{"type","message"}}`.',
    security: ANTHROPIC_SECURITY,
    request: jsonBody(PROXY_OPERATIONS.messages.schema as never, undefined, EXAMPLES.messages.request),
    responses: {
      200: {
        description: "The Message (JSON), or its event stream (SSE)",
        content: {
          "application/json": { schema: { type: "object" }, example: EXAMPLES.messages.response },
          "text/event-stream": { schema: { type: "string" } },
        },
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
    return proxyOperation(c, { operation: "messages" });
  });

  app.openAPIRegistry.registerPath({
    method: "post",
    path: "/v1/messages/count_tokens",
    tags: ["anthropic"],
    summary: "Count the input tokens of a message (Anthropic's token counting)",
    description:
      'What `client.messages.countTokens` calls: a Messages request without `max_tokens` and the other generation settings; the answer is `{"input_tokens": n}`. ' +
      "**Exact** when the model's provider is Anthropic (the upstream's own `/v1/messages/count_tokens`, with the client's `anthropic-version` and `anthropic-beta`); " +
      `for any other provider it is the gateway's **estimate** (about 4 characters per token, a fixed amount per image or document — the one the limiter reserves with). ` +
      `\`${TOKEN_COUNT_HEADER}\` says which (\`exact\` or \`estimate\`); a route is counted for its first target. Free and not metered as usage, but one request toward the key's \`rpm\` and \`max_concurrency\`.`,
    security: ANTHROPIC_SECURITY,
    request: jsonBody(MessagesCountTokensRequestSchema as never, undefined, EXAMPLES.countTokens.request),
    responses: {
      200: {
        description: "The count",
        headers: { [TOKEN_COUNT_HEADER]: { description: "`exact` (counted by the upstream) or `estimate` (the gateway's)", schema: { type: "string" } } },
        content: { "application/json": { schema: MessageTokensCountSchema, example: EXAMPLES.countTokens.response } },
      },
      400: errors("Invalid request; the message names the field"),
      401: errors("Missing or invalid gateway key"),
      403: errors("The key may not use this model"),
      404: errors("Unknown model"),
      429: errors("The key's request rate, or the provider's own rate limit; see `retry-after`"),
      502: errors("The provider failed, or rejected the gateway's credentials for it"),
      503: errors("A gateway dependency is unavailable; retry"),
    },
  });
  app.post("/v1/messages/count_tokens", countTokens);
}
