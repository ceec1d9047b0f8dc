import { GATEWAY_HEADERS } from "../../../shared/src/proxy/headers";
import type { Context } from "hono";
import { ApiError, assertModelAllowed, parseOrThrow, requireScope } from "../../../shared/src";
import { MessagesCountTokensRequestSchema } from "../../../shared/src/anthropic";
import { unwrap } from "../admin/openapi";
import { acquireLimits, limitHeaders, settleLimits } from "../limits";
import { readJsonRequest } from "../middleware/body";
import type { GatewayBindings } from "../types";
import { checkAnthropicVersion } from "./errors";
import { countRefusal } from "../metrics/refusals";

/** Says whether an answer's `input_tokens` was counted by the upstream or estimated by the gateway. */
export const TOKEN_COUNT_HEADER = GATEWAY_HEADERS.tokenCount;

/**
 * `POST /v1/messages/count_tokens`: Anthropic's token counting, for `client.messages.countTokens`.
 * Checked like a Messages request (scope `chat`, the key's model globs, the same content schema),
 * then model-proxy counts: exactly, through the upstream's own endpoint, when the model's provider
 * is Anthropic; otherwise with the gateway's estimate (`x-gateway-token-count: estimate`).
 *
 * Counting is free and generates nothing, so it is not metered as usage; it is still one request
 * toward the key's and tenant's `rpm` and `max_concurrency` (no tokens, no cost), so a key cannot
 * spend the platform's upstream counting allowance beyond its own request rate.
 */
export async function countTokens(c: Context<GatewayBindings>): Promise<Response> {
  checkAnthropicVersion(c.req.raw.headers);
  const principal = c.get("principal");
  requireScope(principal, "chat");
  const { value: raw } = await readJsonRequest(c.req.raw, c.env);
  const body = parseOrThrow(MessagesCountTokensRequestSchema, raw);
  assertModelAllowed(principal, body.model);

  const lease = await acquireLimits(c.env, principal, {
    model: body.model,
    operation: "messages",
    promptTokens: 0,
    completion: { maxPerChoice: 0, choices: 1 },
    onRefused: countRefusal(c),
  });
  const settle = () =>
    c.executionCtx.waitUntil(settleLimits(c.env, lease, { promptTokens: 0, completionTokens: 0, cachedTokens: 0, model: null, provider: null }));
  const headers: Record<string, string> = {};
  for (const name of ["anthropic-version", "anthropic-beta"]) {
    const value = c.req.header(name);
    if (value !== undefined) headers[name] = value;
  }
  let result;
  try {
    result = await c.env.MODEL_PROXY.countMessageTokens({
      principalToken: principal.token,
      requestId: c.get("requestId"),
      operation: "messages",
      body: raw,
      ...(Object.keys(headers).length > 0 ? { headers } : {}),
    });
  } catch {
    throw new ApiError({
      code: "service_unavailable",
      message: "Token counting is temporarily unavailable. Retry the request.",
      headers: { "retry-after": "1" },
    });
  } finally {
    settle();
  }
  const count = unwrap(result);
  return c.json({ input_tokens: count.input_tokens }, 200, {
    ...limitHeaders(lease),
    [GATEWAY_HEADERS.provider]: count.provider,
    [GATEWAY_HEADERS.model]: count.model,
    [TOKEN_COUNT_HEADER]: count.exact ? "exact" : "estimate",
  });
}
