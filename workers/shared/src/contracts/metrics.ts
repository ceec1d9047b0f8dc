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

/** Served (successful) upstream attempts by provider and upstream model, from billing's ledger. */
export interface AttemptSeries {
  provider: string;
  model: string;
  outcome: string;
  attempts: number;
}

export interface MetricsSnapshot {
  requests: RequestSeries[];
  /** The `ok` attempts: every metered request an upstream answered (its served attempt). */
  servedAttempts: AttemptSeries[];
}

/**
 * model-proxy's part (its D1, migrations/proxy/0004): failed attempts by provider, model and
 * outcome (capped like the request series: MAX_ATTEMPT_SERIES, the rest `__other__`), and the
 * circuits by provider, model and phase (MAX_CIRCUIT_SERIES, the rest `__other__`).
 */
export const MAX_ATTEMPT_SERIES = 200;
export const MAX_CIRCUIT_SERIES = 200;
export const CIRCUIT_PHASES = ["closed", "open", "half_open"] as const;

export interface CircuitSeries {
  provider: string;
  model: string;
  phase: (typeof CIRCUIT_PHASES)[number];
  /** Circuits in that phase: the platform's own for the deployment, plus any tenant-scoped ones. */
  circuits: number;
}

export interface ProxyMetrics {
  attemptFailures: AttemptSeries[];
  circuits: CircuitSeries[];
}

/** Limiter refusals (rate-limiter's RefusalCounter objects), by the limit that refused. */
export const REFUSAL_REASONS = ["rpm", "tpm", "concurrency", "budget", "credits"] as const;
export type RefusalReason = (typeof REFUSAL_REASONS)[number];
export type RefusalCounts = Record<RefusalReason, number>;

/** Batches by status and the lines not yet run (tail's D1 listing copy, as of each batch's last transition). */
export interface BatchMetrics {
  batches: { status: string; batches: number }[];
  /** Lines of batches still running (validating, in_progress, finalizing, cancelling): total − completed − failed. */
  pendingLines: number;
}

/**
 * Keeps the `max` largest series (by `weight`) and sums the rest into one series built by `other`,
 * so totals stay exact while the output stays bounded.
 */
export function capSeries<T>(rows: T[], max: number, weight: (t: T) => number, merge: (into: T, from: T) => void, other: (first: T) => T): T[] {
  const sorted = [...rows].sort((a, b) => weight(b) - weight(a));
  const kept = sorted.slice(0, max);
  const rest = sorted.slice(max);
  if (rest.length === 0) return kept;
  const sum = other(rest[0]!);
  for (const r of rest.slice(1)) merge(sum, r);
  return [...kept, sum];
}

/**
 * One circuit as the console's Providers page shows it (ProvidersService.circuits): the provider
 * and upstream model, whose failures trip it (`platform`: every tenant's traffic on a platform
 * provider; `tenant`: the tenant's own provider, or its route's shorter timeout over a platform
 * one), and its phase since `updated_at` (unix seconds).
 */
export interface CircuitStateView {
  object: "circuit";
  provider: string;
  provider_id: string;
  model: string;
  scope: "platform" | "tenant";
  state: (typeof CIRCUIT_PHASES)[number];
  updated_at: number;
}
