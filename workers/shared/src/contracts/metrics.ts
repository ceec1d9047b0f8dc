/**
 * `GET /metrics` (Prometheus text format): what billing aggregates from its D1 ledger (every
 * metered request, exactly once whatever isolate served it) and the gateway renders.
 *
 * Label cardinality is capped: at most MAX_REQUEST_SERIES label sets (route × model × provider ×
 * status), the busiest first; every request beyond them is counted in one series whose labels are
 * all `__other__`, so the totals stay exact while tenant-chosen model names cannot grow the output.
 * Label values are cut to MAX_LABEL_CHARS.
 */
export const MAX_REQUEST_SERIES = 200;
export const MAX_LABEL_CHARS = 128;
export const OTHER_LABEL = "__other__";
/** Latency histogram bucket bounds (`le`), milliseconds. */
export const LATENCY_BUCKETS_MS = [50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000, 30_000, 60_000] as const;

export interface RequestSeries {
  route: string;
  model: string;
  provider: string;
  status: string;
  requests: number;
  upstream_errors: number;
  aborted: number;
  latency_ms_sum: number;
  /** Cumulative counts per LATENCY_BUCKETS_MS bound (Prometheus `le`), same order. */
  latency_le: number[];
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd_micros: number;
}

export interface MetricsSnapshot {
  requests: RequestSeries[];
}
