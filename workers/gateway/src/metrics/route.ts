import type { Hono } from "hono";
import { ApiError, timingSafeEqualStrings } from "../../../shared/src";
import {
  LATENCY_BUCKETS_MS,
  REFUSAL_REASONS,
  type BatchMetrics,
  type MetricsSnapshot,
  type ProxyMetrics,
  type RefusalCounts,
} from "../../../shared/src/contracts/metrics";
import { unwrap } from "../admin/openapi";
import { adminContextToken, presentsAdminToken } from "../middleware/admin-token";
import type { GatewayBindings } from "../types";

/**
 * `GET /metrics`, Prometheus text format 0.0.4, for the admin token or the optional `METRICS_TOKEN`
 * secret (a scraper's token reads this and nothing else). Every number comes from shared storage,
 * written once where the event happened, never from per-isolate counters (which on Workers count
 * one isolate's share): billing's ledger (one D1 row per metered request), model-proxy's D1 (failed
 * attempts, circuit phases), rate-limiter's RefusalCounter objects, tail's D1 (batches). Series and
 * label caps: contracts/metrics.ts.
 */

/** Everything one scrape reads, from the Workers that own it. */
export interface MetricsSources {
  ledger: MetricsSnapshot;
  proxy: ProxyMetrics;
  refusals: RefusalCounts;
  batches: BatchMetrics;
}
const escape = (v: string) => v.replace(/\\/g, "\\\\").replace(/"/g, '\\"').replace(/\n/g, "\\n");

function labels(l: Record<string, string>): string {
  return `{${Object.entries(l)
    .map(([k, v]) => `${k}="${escape(v)}"`)
    .join(",")}}`;
}

export function renderMetrics(sources: MetricsSources): string {
  const snapshot = sources.ledger;
  const out: string[] = [];
  const family = (name: string, type: string, help: string, lines: string[]) => {
    out.push(`# HELP ${name} ${help}`, `# TYPE ${name} ${type}`, ...lines);
  };
  const each = (f: (s: MetricsSnapshot["requests"][number], l: Record<string, string>) => string[]) =>
    snapshot.requests.flatMap((s) => f(s, { route: s.route, model: s.model, provider: s.provider, status: s.status }));

  family(
    "gateway_requests_total",
    "counter",
    "Metered requests by route (operation), model, provider and HTTP status.",
    each((s, l) => [`gateway_requests_total${labels(l)} ${s.requests}`]),
  );
  family(
    "gateway_request_duration_seconds",
    "histogram",
    "Request latency (first byte in to last byte out) by route, model, provider and status.",
    each((s, l) => [
      ...LATENCY_BUCKETS_MS.map((le, i) => `gateway_request_duration_seconds_bucket${labels({ ...l, le: String(le / 1000) })} ${s.latency_le[i]}`),
      `gateway_request_duration_seconds_bucket${labels({ ...l, le: "+Inf" })} ${s.requests}`,
      `gateway_request_duration_seconds_sum${labels(l)} ${s.latency_ms_sum / 1000}`,
      `gateway_request_duration_seconds_count${labels(l)} ${s.requests}`,
    ]),
  );
  family(
    "gateway_upstream_failures_total",
    "counter",
    "Requests the upstream failed: answered 502/503/504 after retries and fallbacks, or broken mid-stream.",
    each((s, l) => [`gateway_upstream_failures_total${labels(l)} ${s.upstream_errors}`]),
  );
  family(
    "gateway_client_aborts_total",
    "counter",
    "Requests the client left before the end of the answer.",
    each((s, l) => [`gateway_client_aborts_total${labels(l)} ${s.aborted}`]),
  );
  family(
    "gateway_tokens_total",
    "counter",
    "Tokens metered, by kind (prompt, completion).",
    each((s, l) => [
      `gateway_tokens_total${labels({ ...l, kind: "prompt" })} ${s.prompt_tokens}`,
      `gateway_tokens_total${labels({ ...l, kind: "completion" })} ${s.completion_tokens}`,
    ]),
  );
  family(
    "gateway_cost_usd_micros_total",
    "counter",
    "Metered cost, integer micro-dollars.",
    each((s, l) => [`gateway_cost_usd_micros_total${labels(l)} ${s.cost_usd_micros}`]),
  );
  family(
    "gateway_upstream_attempts_total",
    "counter",
    "Upstream attempts by provider, upstream model and outcome (ok, or the failure's error code), retries and fallbacks included.",
    [...snapshot.servedAttempts, ...sources.proxy.attemptFailures].map(
      (a) => `gateway_upstream_attempts_total${labels({ provider: a.provider, model: a.model, outcome: a.outcome })} ${a.attempts}`,
    ),
  );
  family(
    "gateway_limiter_refusals_total",
    "counter",
    "Requests refused by a limit (429), by the limit: rpm, tpm, concurrency, budget, credits.",
    REFUSAL_REASONS.map((r) => `gateway_limiter_refusals_total${labels({ reason: r })} ${sources.refusals[r]}`),
  );
  family(
    "gateway_circuits",
    "gauge",
    "Circuit breakers by provider, upstream model and state (closed, open, half_open); a circuit is listed from its first state change on.",
    sources.proxy.circuits.map((s) => `gateway_circuits${labels({ provider: s.provider, model: s.model, state: s.phase })} ${s.circuits}`),
  );
  family(
    "gateway_batches",
    "gauge",
    "Batches by status.",
    sources.batches.batches.map((b) => `gateway_batches${labels({ status: b.status })} ${b.batches}`),
  );
  family("gateway_batch_lines_pending", "gauge", "Lines of running batches not yet recorded as completed or failed (as of each batch's last state change).", [
    `gateway_batch_lines_pending ${sources.batches.pendingLines}`,
  ]);
  return `${out.join("\n")}\n`;
}

export function registerMetrics(app: Hono<GatewayBindings>): void {
  app.get("/metrics", async (c) => {
    const presented = /^Bearer\s+(\S+)\s*$/i.exec(c.req.header("authorization") ?? "")?.[1];
    if (!presented)
      throw new ApiError({ code: "missing_api_key", message: "GET /metrics needs the admin token or METRICS_TOKEN as Authorization: Bearer <token>." });
    const metricsToken = c.env.METRICS_TOKEN;
    const allowed = (await presentsAdminToken(c)) || (!!metricsToken && (await timingSafeEqualStrings(presented, metricsToken)));
    if (!allowed) throw new ApiError({ code: "invalid_api_key", message: "Invalid metrics token." });
    const actor = { type: "admin" as const, token: await adminContextToken(c.env) };
    const [ledger, proxy, refusals, batches] = await Promise.all([
      c.env.BILLING.metrics(actor),
      c.env.MODEL_PROXY.metrics(actor),
      c.env.RATE_LIMITER_SERVICE.refusals(),
      c.env.TAIL.batchMetrics(),
    ]);
    const text = renderMetrics({ ledger: unwrap(ledger), proxy: unwrap(proxy), refusals, batches });
    return c.body(text, 200, { "content-type": "text/plain; version=0.0.4; charset=utf-8", "cache-control": "no-store" });
  });
}
