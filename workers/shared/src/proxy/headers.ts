/**
 * Every `x-gateway-*` header name, in one place. Those under "client" reach the client (the
 * README documents them); the internal ones travel between the Workers only and the gateway never
 * passes them on (a provider's configured headers may not use the prefix either:
 * contracts/providers.ts).
 */
export const GATEWAY_HEADERS = {
  // client-facing
  /** The gateway's own request id (also `x-request-id`). */
  requestId: "x-gateway-request-id",
  /** The provider and upstream model that served the answer, and how many attempts it took. */
  provider: "x-gateway-provider",
  model: "x-gateway-model",
  attempts: "x-gateway-attempts",
  /** The upstream's own request id (at most 128 characters). */
  upstreamRequestId: "x-gateway-upstream-request-id",
  /** What a non-streamed answer cost, in decimal USD. */
  costUsd: "x-gateway-cost-usd",
  /** `/v1/messages/count_tokens`: `exact` or `estimate`. */
  tokenCount: "x-gateway-token-count",
  /** LiteLLM's names for the model group that served, and the deployment's id. */
  litellmGroup: "x-litellm-model-group",
  litellmModelId: "x-litellm-model-id",

  // internal
  /** model-proxy → gateway: the provider's timeout, the idle timeout of the gateway's SSE pump. */
  idleTimeout: "x-gateway-idle-timeout-ms",
  /** model-proxy → gateway: attempts abandoned after sending them (contracts/proxy.ts). */
  abandonedAttempts: "x-gateway-abandoned-attempts",
  /** gateway → tail → model-proxy (a ProxyRequest as HTTP): the signed principal token. */
  principalToken: "x-gateway-principal-token",
  /** gateway → tail's files and batches API: the caller's principal token. */
  principal: "x-gateway-principal",
  /** gateway → tail → model-proxy: an allow-listed client header, `x-gateway-forward-<name>`. */
  forwardedPrefix: "x-gateway-forward-",
} as const;

/** The headers of model-proxy's answer that reach the client; nothing else from upstream does. */
export const PASSED_ANSWER_HEADERS: readonly string[] = [
  "content-type",
  "cache-control",
  GATEWAY_HEADERS.provider,
  GATEWAY_HEADERS.model,
  GATEWAY_HEADERS.attempts,
  GATEWAY_HEADERS.upstreamRequestId,
  GATEWAY_HEADERS.litellmGroup,
  GATEWAY_HEADERS.litellmModelId,
];
