import type { UsageEvent } from "../../../shared/src";

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
 * Sends the usage event to the `usage-events` queue (billing stores it, idempotent by request id)
 * and writes the Analytics Engine datapoint. Runs in `waitUntil` after the response; never throws.
 * A failed queue send is retried once and then logged with the whole event, so it can be replayed.
 */
export async function recordUsage(env: Pick<GatewayEnv, "USAGE_EVENTS" | "ANALYTICS">, event: UsageEvent): Promise<void> {
  try {
    env.ANALYTICS.writeDataPoint(datapoint(event));
  } catch (err) {
    console.error(JSON.stringify({ level: "error", requestId: event.request_id, message: "analytics datapoint failed", error: String(err) }));
  }
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      await env.USAGE_EVENTS.send(event, { contentType: "json" });
      return;
    } catch (err) {
      if (attempt === 2) {
        console.error(JSON.stringify({ level: "error", requestId: event.request_id, message: "usage event not queued", error: String(err), event }));
      }
    }
  }
}
