import { ApiError, fail, ok, parseProxyRequest, validationError, type ProxyRequest, type Result } from "../../../shared/src";
import { estimateMessagesPromptTokens } from "../../../shared/src/anthropic";
import type { MessageTokenCount } from "../../../shared/src/contracts/proxy";
import { verifyPrincipalToken } from "../../../shared/src/principal-token";
import { adapterFor } from "../providers";
import type { ModelRegistry } from "../registry";
import { providerForCall, type RoutingContext } from "../routing/route-request";
import { withinAllowList } from "./allow-list";
import type { DispatchEnv } from "./dispatcher";

/**
 * `POST /v1/messages/count_tokens` (Anthropic's token counting) for a verified principal: the model
 * resolves like a Messages request (same registry, same allow-list), and its first target — the
 * primary of a route — is asked. An adapter with a counting endpoint (Anthropic's) answers
 * exactly; for every other provider the answer is the gateway's own estimate of the prompt
 * (`estimateMessagesPromptTokens`, the one the limiter reserves with: about 4 characters a token,
 * a fixed amount per image or document), marked `exact: false`.
 *
 * One call, no retries, fallbacks or circuit accounting: counting is free and not inference, so it
 * neither moves a provider's circuit nor its latency record. The call runs under the provider's
 * timeout (or the route's, when shorter).
 */
export async function countMessageTokens(
  raw: unknown,
  env: DispatchEnv,
  registry: () => ModelRegistry,
  routing: RoutingContext,
): Promise<Result<MessageTokenCount>> {
  const parsed = parseProxyRequest(raw);
  if (!parsed.success) return fail(validationError(parsed.error));
  const req = parsed.data as ProxyRequest;
  if (req.operation !== "messages") return fail({ code: "invalid_request", param: "operation", message: "Token counting is for the messages operation." });
  const claims = await verifyPrincipalToken(req.principalToken, env.PRINCIPAL_VERIFY_JWK);
  if (!claims.ok) return claims;
  const asked = String(req.body.model);
  const resolved = await registry().resolve(asked, "messages", claims.value);
  const resolution = resolved.ok ? withinAllowList(asked, resolved.value, claims.value) : resolved;
  if (!resolution.ok) return resolution;
  const target = resolution.value.targets[0];
  if (!target) return fail({ code: "model_not_found", param: "model", message: `The model '${asked}' does not exist or you do not have access to it.` });
  const named = { provider: target.provider.name, model: target.model };

  const adapter = adapterFor(target.provider.type);
  if (!adapter?.countMessageTokens) return ok({ input_tokens: estimateMessagesPromptTokens(req.body), exact: false, ...named });
  const timeoutMs = Math.min(target.provider.timeoutMs, resolution.value.timeoutMs ?? Infinity);
  try {
    const provider = await providerForCall(target.provider, timeoutMs, routing);
    const tokens = await adapter.countMessageTokens(
      req.body,
      { ...target, provider },
      { requestId: req.requestId, signal: AbortSignal.timeout(timeoutMs), forceStreamUsage: false, clientHeaders: req.headers },
    );
    return ok({ input_tokens: tokens, exact: true, ...named });
  } catch (err) {
    if (err instanceof ApiError) return fail(err.toInit());
    throw err;
  }
}
