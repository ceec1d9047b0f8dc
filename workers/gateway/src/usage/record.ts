import type { UsageEvent } from "../../../shared/src";
import { usageBatcher } from "./batcher";

/**
 * Analytics Engine datapoint layout of dataset `gateway_requests` (one per proxied request):
 *   index1  tenant_id
 *   blob1   tenant_id     blob2 key_id      blob3 operation   blob4 requested_model
 *   blob5   provider      blob6 model       blob7 outcome (ok | error | aborted | upstream_error)
 *   blob8   stream|json   blob9 request_id
 *   double1 status        double2 latency_ms  double3 ttfb_ms (0 if none)
 *   double4 prompt_tokens double5 completion_tokens double6 cached_tokens double7 reasoning_tokens
 *   double8 total_tokens
 */
export function datapoint(event: UsageEvent): AnalyticsEngineDataPoint {
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
    ],
  };
}

/**
 * Writes the Analytics Engine datapoint and queues the usage event for the `usage-events` Queue
 * (billing stores it, idempotent by request id), packed with the isolate's other events of the
 * same short window into as few Queue messages as the pack budget allows (batcher.ts). Runs after
 * the response; never throws.
 */
export function recordUsage(env: Pick<GatewayEnv, "USAGE_EVENTS" | "ANALYTICS">, waitUntil: (p: Promise<unknown>) => void, event: UsageEvent): void {
  try {
    env.ANALYTICS.writeDataPoint(datapoint(event));
  } catch (err) {
    console.error(JSON.stringify({ level: "error", requestId: event.request_id, message: "analytics datapoint failed", error: String(err) }));
  }
  usageBatcher.add(env.USAGE_EVENTS, waitUntil, event);
}
