import type { UsageEvent } from "../../../shared/src";
import { usageBatcher } from "./batcher";
import { eventCostMicros } from "./cost";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * The Analytics Engine datapoint of dataset `gateway_requests`: one per metered request (and one
 * per abandoned attempt), written by the gateway through its `ANALYTICS` binding. The numbers are
 * the request's one normalised usage record (shared/src/token-usage.ts, OpenAI semantics) — the
 * very numbers its usage event carries to billing. Analytics Engine samples what it stores: it
 * feeds dashboards only; invoices and the usage APIs read billing's D1. README, "Analytics
 * (Cloudflare dashboard)", has the SQL API queries over this layout.
 *
 * Positions are the schema: append new fields at the end, never move or reuse one.
 *
 *   index1   tenant_id            (the sampling key: each tenant is sampled on its own)
 *   blob1    tenant_id            blob2  key_id           blob3  operation (chat | completions | embeddings | messages | …)
 *   blob4    requested_model      blob5  provider ("" if none was reached)
 *   blob6    model (served; "" if none)                   blob7  outcome (ok | error | aborted | upstream_error)
 *   blob8    stream | json        blob9  request_id (the gateway's `x-request-id`)
 *   double1  status               double2  latency_ms     double3  ttfb_ms (0 if none)
 *   double4  prompt_tokens (all input: uncached + cached + cache writes)
 *   double5  completion_tokens (all output, reasoning included)
 *   double6  cached_tokens (cache reads, part of double4)
 *   double7  reasoning_tokens (part of double5)
 *   double8  total_tokens (double4 + double5)
 *   double9  cache_write_tokens (part of double4)
 *   double10 cost_usd_micros (billing's price rule over the gateway's cached price table; 0 when
 *            the model has no price, -1 when the table could not be read)
 */
export const DATAPOINT_LAYOUT = {
  indexes: ["tenant_id"],
  blobs: ["tenant_id", "key_id", "operation", "requested_model", "provider", "model", "outcome", "format", "request_id"],
  doubles: [
    "status",
    "latency_ms",
    "ttfb_ms",
    "prompt_tokens",
    "completion_tokens",
    "cached_tokens",
    "reasoning_tokens",
    "total_tokens",
    "cache_write_tokens",
    "cost_usd_micros",
  ],
} as const;

export function datapoint(event: UsageEvent, costUsdMicros: number | null): AnalyticsEngineDataPoint {
  const outcome = event.aborted ? "aborted" : event.upstream_error ? "upstream_error" : event.status >= 400 ? "error" : "ok";
  return {
    indexes: [event.tenant_id],
    blobs: [
      event.tenant_id,
      event.key_id,
      event.operation,
      event.requested_model,
      event.provider ?? "",
      event.model ?? "",
      outcome,
      event.stream ? "stream" : "json",
      event.request_id,
    ],
    doubles: [
      event.status,
      event.latency_ms,
      event.ttfb_ms ?? 0,
      event.prompt_tokens,
      event.completion_tokens,
      event.cached_tokens,
      event.reasoning_tokens,
      event.total_tokens,
      event.cache_write_tokens ?? 0,
      costUsdMicros ?? -1,
    ],
  };
}

/**
 * Queues the usage event for the `usage-events` Queue at once (billing stores it, idempotent by
 * request id), packed with the isolate's other events of the same short window into as few Queue
 * messages as the pack budget allows (batcher.ts); then, once the event is priced from the cached
 * price table, writes its Analytics Engine datapoint. Runs after the response; never throws.
 */
export function recordUsage(
  env: Pick<GatewayEnv, "USAGE_EVENTS" | "ANALYTICS" | "BILLING">,
  waitUntil: (p: Promise<unknown>) => void,
  event: UsageEvent,
): void {
  usageBatcher.add(env.USAGE_EVENTS, waitUntil, event);
  waitUntil(
    eventCostMicros(env, event)
      .catch(() => null)
      .then((cost) => env.ANALYTICS.writeDataPoint(datapoint(event, cost)))
      .catch((err: unknown) =>
        log.error("gateway", "analytics datapoint failed", {
          requestId: event.request_id,
          tenantId: event.tenant_id,
          keyId: event.key_id,
          message: errorMessage(err),
        }),
      ),
  );
}
