import { z } from "zod";

/**
 * The console's report (`GET /console/api/tenants/{id}/report`, and across tenants for operators
 * `GET /console/api/overview`): requests, tokens, cost and errors over time, exact p50/p95 latency,
 * breakdowns and the latest requests with their abandoned attempts — read by billing from its
 * usage ledger (`usage_events`, one row per metered request or abandoned attempt, D1), never from
 * sampled Analytics Engine numbers. Counts are the usage API's: every metered row is one request,
 * so `totals.requests` equals the sum of `num_model_requests` of `/v1/organization/usage/completions`
 * and `/embeddings` over the same window, and `totals.cost_usd_micros` the costs API's.
 */
export const CONSOLE_BUCKETS = { "1h": 3_600, "1d": 86_400 } as const;
/** The widest window per bucket width: 7 days of hours, 31 days of days. */
export const CONSOLE_MAX_WINDOW = { "1h": 7 * 86_400, "1d": 31 * 86_400 } as const;
/** Rows per breakdown (the busiest first) and the most recent requests one report carries. */
export const CONSOLE_MAX_GROUP_ROWS = 50;
export const CONSOLE_RECENT = { default: 20, max: 100 } as const;

const UnixSeconds = z.coerce.number().int().min(946_684_800).max(4_102_444_800);

export const ConsoleReportQuerySchema = z
  .object({
    start_time: UnixSeconds,
    end_time: UnixSeconds.optional(),
    bucket_width: z.enum(["1h", "1d"]).default("1h"),
    recent: z.coerce.number().int().min(0).max(CONSOLE_RECENT.max).default(CONSOLE_RECENT.default),
    /** Operators only (the admin context): one tenant of all. */
    tenant_id: z.string().min(1).max(64).optional(),
  })
  .strict();
export type ConsoleReportQuery = z.input<typeof ConsoleReportQuerySchema>;

export interface ConsoleFigures {
  requests: number;
  /** Answered with a status ≥ 400, or an upstream stream that broke mid-way. */
  errors: number;
  input_tokens: number;
  output_tokens: number;
  total_tokens: number;
  cost_usd_micros: number;
}

export interface ConsoleTotals extends ConsoleFigures {
  /** errors / requests (0 without requests). */
  error_rate: number;
  /** Nearest-rank percentiles of every metered request's latency in the window (null without requests). */
  latency_p50_ms: number | null;
  latency_p95_ms: number | null;
}

export interface ConsoleBucket extends ConsoleFigures {
  start_time: number;
}

export interface ConsoleGroup extends ConsoleFigures {
  /** The model (served, else requested), provider (`""`: none reached), key id or tenant id. */
  name: string;
}

export interface ConsoleAttempt {
  request_id: string;
  provider: string | null;
  model: string | null;
  status: number;
}

export interface ConsoleRecentRequest {
  request_id: string;
  created_at: number;
  api_key_id: string;
  tenant_id: string;
  operation: string;
  requested_model: string;
  provider: string | null;
  model: string | null;
  status: number;
  stream: boolean;
  latency_ms: number;
  total_tokens: number;
  cost_usd_micros: number;
  /** Attempts sent upstream: the abandoned ones (each metered on its own) and the one that answered. */
  attempts: number;
  abandoned_attempts: ConsoleAttempt[];
}

export interface ConsoleReport {
  object: "console.report";
  tenant_id: string | null;
  start_time: number;
  end_time: number;
  bucket_width: "1h" | "1d";
  totals: ConsoleTotals;
  /** Every bucket of the window, empty ones included (zeros), oldest first. */
  series: ConsoleBucket[];
  by_model: ConsoleGroup[];
  by_provider: ConsoleGroup[];
  by_key: ConsoleGroup[];
  /** Operators' report across tenants only; empty for one tenant. */
  by_tenant: ConsoleGroup[];
  recent: ConsoleRecentRequest[];
}
