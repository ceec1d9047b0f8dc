import type { ProxyOperation } from "../../../shared/src/proxy/operations";
import { usdToMicros, type AbandonedAttempt, type Principal, type UsageEvent } from "../../../shared/src";
import type { Correlation } from "../../../shared/src/contracts/langchain";
import { ZERO_USAGE, tokenUsage, type TokenUsage } from "../../../shared/src/token-usage";
import type { Observation } from "../../../shared/src/proxy/observation";

export type MeteredOperation = ProxyOperation;

/** What the route knows about a request before the upstream answers. */
export interface RequestFacts {
  /** The gateway's id of the request: the usage event's idempotency key. */
  requestId: string;
  /** The client's own id for the request, if it sent one (recorded, never a key). */
  clientRequestId: string | null;
  principal: Principal;
  operation: MeteredOperation;
  requestedModel: string;
  stream: boolean;
  /** Epoch ms when the gateway received the request. */
  startedAt: number;
  /** Estimated prompt tokens, used when the upstream reports no usage. */
  promptEstimate: number;
  /** `/v1/langchain` requests: their run/session/tag labels, stored with the usage (and with each abandoned attempt's). */
  correlation?: Correlation | null;
  /** Set when the request is a batch line (batch/line-service.ts): metered as operation `batch`, tagged with its batch and custom id. */
  batch?: { batchId: string; customId: string; onMetered?: (usage: TokenUsage) => void };
  /** Set when the request is a model step of a Responses/agentic run (responses/step-service.ts): tagged with its response id. */
  responseId?: string;
}

/** The operation and tags a request's usage is recorded under: a batch line's is `batch` (priced with the batch discount). */
function meteredAs(req: RequestFacts): { operation: UsageEvent["operation"]; tags: Record<string, string> } {
  if (req.batch) return { operation: "batch", tags: { batch_id: req.batch.batchId, custom_id: req.batch.customId } };
  return { operation: req.operation, tags: req.responseId ? { response_id: req.responseId } : {} };
}

/** The key's and tenant's monthly budgets in µ$ (billing's budget alerts measure the month's spend against them). */
function budgetsOf(p: Principal): NonNullable<UsageEvent["budgets"]> {
  const micros = (usd: number | null | undefined) => (usd == null ? null : usdToMicros(usd));
  return { key_micros: micros(p.keyBudget.monthly_usd), tenant_micros: micros(p.tenantBudget.monthly_usd) };
}

/** What the response turned out to be. */
export interface ResponseFacts {
  status: number;
  provider: string | null;
  model: string | null;
  observation: Observation | null;
  /** Epoch ms when the last byte went out (or the client left). */
  endedAt: number;
}

/**
 * The usage to meter: the upstream's own numbers when it reported them; otherwise (an upstream
 * that reports none, or a stream the client abandoned before the usage chunk) an estimate from
 * the request and from what was generated so far — at least one token per content event, which
 * is what OpenAI-style streams send. `estimated` marks the latter.
 */
export function meteredUsage(req: RequestFacts, res: ResponseFacts): { usage: TokenUsage; estimated: boolean } {
  const seen = res.observation;
  if (seen?.usage) return { usage: seen.usage, estimated: false };
  if (!seen || (res.status >= 400 && !seen.aborted)) return { usage: { ...ZERO_USAGE }, estimated: false };
  const promptTokens = req.promptEstimate;
  const completionTokens = req.operation === "embeddings" ? 0 : Math.max(seen.contentEvents, Math.ceil(seen.completionChars / 4));
  return { usage: tokenUsage({ prompt: promptTokens, completion: completionTokens }), estimated: true };
}

export function usageEvent(req: RequestFacts, res: ResponseFacts, metered = meteredUsage(req, res)): UsageEvent {
  const { usage, estimated } = metered;
  const seen = res.observation;
  return {
    request_id: req.requestId,
    client_request_id: req.clientRequestId,
    tenant_id: req.principal.tenantId,
    key_id: req.principal.keyId,
    operation: meteredAs(req).operation,
    requested_model: req.requestedModel,
    provider: res.provider,
    model: res.model,
    prompt_tokens: usage.promptTokens,
    completion_tokens: usage.completionTokens,
    cached_tokens: usage.cachedTokens,
    cache_write_tokens: usage.cacheWriteTokens,
    reasoning_tokens: usage.reasoningTokens,
    total_tokens: usage.totalTokens,
    status: res.status,
    stream: req.stream,
    aborted: seen?.aborted ?? false,
    upstream_error: seen?.upstreamError ?? false,
    latency_ms: Math.max(0, res.endedAt - req.startedAt),
    ttfb_ms: seen?.firstByteAt != null ? Math.max(0, seen.firstByteAt - req.startedAt) : null,
    started_at: req.startedAt,
    tags: estimated ? { ...meteredAs(req).tags, usage: "estimated" } : meteredAs(req).tags,
    correlation: req.correlation ?? null,
    budgets: budgetsOf(req.principal),
  };
}

/**
 * Usage events for the attempts the router gave up on by its own timeout after sending them
 * (model-proxy lists them in `x-gateway-abandoned-attempts`). The upstream received each one and
 * bills it although nothing came back, so each is metered on its own, against the provider and
 * model it went to: the prompt (the request's estimate — no upstream count ever arrived) and no
 * completion tokens, since what the upstream generated is unknown. Tagged `attempt: abandoned`.
 * Each id derives from the request's (`<request id>.attempt<n>`): server-made, one row per attempt
 * however often the event is delivered.
 */
export function abandonedAttemptEvents(req: RequestFacts, attempts: readonly AbandonedAttempt[], endedAt: number): UsageEvent[] {
  return attempts.map((a) => ({
    request_id: `${req.requestId}.attempt${a.attempt}`,
    client_request_id: req.clientRequestId,
    tenant_id: req.principal.tenantId,
    key_id: req.principal.keyId,
    operation: meteredAs(req).operation,
    requested_model: req.requestedModel,
    provider: a.provider,
    model: a.model,
    prompt_tokens: req.promptEstimate,
    completion_tokens: 0,
    cached_tokens: 0,
    cache_write_tokens: 0,
    reasoning_tokens: 0,
    total_tokens: req.promptEstimate,
    status: 504,
    stream: req.stream,
    aborted: false,
    upstream_error: true,
    latency_ms: Math.max(0, endedAt - req.startedAt),
    ttfb_ms: null,
    started_at: req.startedAt,
    tags: { ...meteredAs(req).tags, attempt: "abandoned", usage: "estimated" },
    correlation: req.correlation ?? null,
    budgets: budgetsOf(req.principal),
  }));
}
