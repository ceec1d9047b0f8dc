import { ApiError } from "../../../../shared/src";
import { readUpstreamJson } from "../chat-translation";
import type { AdapterContext, Target } from "../types";
import { fetchUpstream } from "../upstream-errors";
import { anthropicHeaders, countTokensUrl } from "./api";

/**
 * `/v1/messages/count_tokens` on an Anthropic provider: the client's counting request goes upstream
 * as it is (only `model` becomes the upstream model name), with the client's `anthropic-version`
 * and `anthropic-beta`, and the upstream's `input_tokens` is the answer. Upstream errors follow the
 * shared rules (upstream-errors.ts), so a field Anthropic refuses is the client's 400.
 */
export async function anthropicCountTokens(body: Record<string, unknown>, target: Target, ctx: AdapterContext): Promise<number> {
  const { provider } = target;
  const headers = anthropicHeaders(provider, ctx.clientHeaders ?? {});
  headers.set("accept", "application/json");
  const upstream = await fetchUpstream(
    countTokensUrl(provider),
    { method: "POST", headers, body: JSON.stringify({ ...body, model: target.model }) },
    provider,
    ctx,
  );
  const answer = await readUpstreamJson<{ input_tokens?: unknown }>(upstream, provider.name);
  const tokens = answer?.input_tokens;
  if (typeof tokens !== "number" || !Number.isInteger(tokens) || tokens < 0) {
    throw new ApiError({ code: "upstream_error", message: `Provider '${provider.name}' answered the token count without a valid input_tokens.` });
  }
  return tokens;
}
