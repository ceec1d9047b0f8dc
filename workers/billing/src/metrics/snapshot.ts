import {
  capSeries,
  MAX_ATTEMPT_SERIES,
  type AttemptSeries,
  LATENCY_BUCKETS_MS,
  MAX_LABEL_CHARS,
  MAX_REQUEST_SERIES,
  OTHER_LABEL,
  type MetricsSnapshot,
  type RequestSeries,
} from "../../../shared/src/contracts/metrics";

interface Row {
  route: string;
  model: string;
  provider: string;
  status: number;
  requests: number;
  upstream_errors: number;
  aborted: number;
  latency_ms_sum: number;
  prompt_tokens: number;
  completion_tokens: number;
  cost_usd_micros: number;
  [le: `le_${number}`]: number;
}

const cut = (s: string) => (s.length > MAX_LABEL_CHARS ? s.slice(0, MAX_LABEL_CHARS) : s);

/**
 * The request metrics of every metered request, from `usage_events` (one row per request, inserted
 * once: the consumer is idempotent by request id), so the counts are exact across every isolate
 * and Worker that served them. One aggregate query per scrape: it reads the ledger, so its cost
 * grows with it (README: scrape every 60 s or slower; a rollup by these labels is the next step).
 * The busiest MAX_REQUEST_SERIES label sets are kept, the rest summed into one `__other__` series.
 */
export async function metricsSnapshot(db: D1Database): Promise<MetricsSnapshot> {
  const buckets = LATENCY_BUCKETS_MS.map((le) => `SUM(CASE WHEN latency_ms <= ${le} THEN 1 ELSE 0 END) AS le_${le}`).join(", ");
  const { results } = await db
    .prepare(
      `SELECT operation AS route, COALESCE(model, requested_model) AS model, COALESCE(provider, '') AS provider, status,
              COUNT(*) AS requests, SUM(CASE WHEN upstream_error = 1 OR status IN (502, 503, 504) THEN 1 ELSE 0 END) AS upstream_errors, SUM(aborted) AS aborted, SUM(latency_ms) AS latency_ms_sum,
              SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens, SUM(cost_usd_micros) AS cost_usd_micros, ${buckets}
         FROM usage_events GROUP BY 1, 2, 3, 4 ORDER BY requests DESC, 1, 2, 3, 4`,
    )
    .all<Row>();
  const series = (r: Row): RequestSeries => ({
    route: cut(r.route),
    model: cut(r.model),
    provider: cut(r.provider),
    status: String(r.status),
    requests: r.requests,
    upstream_errors: r.upstream_errors,
    aborted: r.aborted,
    latency_ms_sum: r.latency_ms_sum,
    latency_le: LATENCY_BUCKETS_MS.map((le) => r[`le_${le}`] ?? 0),
    prompt_tokens: r.prompt_tokens,
    completion_tokens: r.completion_tokens,
    cost_usd_micros: r.cost_usd_micros,
  });
  const kept = results.slice(0, MAX_REQUEST_SERIES).map(series);
  const rest = results.slice(MAX_REQUEST_SERIES).map(series);
  if (rest.length > 0) {
    const other: RequestSeries = { ...rest[0]!, route: OTHER_LABEL, model: OTHER_LABEL, provider: OTHER_LABEL, status: OTHER_LABEL };
    for (const s of rest.slice(1)) {
      for (const k of ["requests", "upstream_errors", "aborted", "latency_ms_sum", "prompt_tokens", "completion_tokens", "cost_usd_micros"] as const)
        other[k] += s[k];
      other.latency_le = other.latency_le.map((n, i) => n + s.latency_le[i]!);
    }
    kept.push(other);
  }
  return { requests: kept, servedAttempts: await servedAttempts(db) };
}

/**
 * The served attempt of every request an upstream answered, by provider and upstream model: a
 * metered request with a provider whose answer came (status < 400; or the client left after it
 * came, 499; or it broke after it came). Attempts abandoned by the router's timeout have ledger rows
 * of their own (tag `attempt: abandoned`) and are failures, counted by model-proxy.
 */
async function servedAttempts(db: D1Database): Promise<AttemptSeries[]> {
  const { results } = await db
    .prepare(
      `SELECT provider, model, 'ok' AS outcome, COUNT(*) AS attempts FROM usage_events
        WHERE provider IS NOT NULL AND model IS NOT NULL AND (status < 400 OR status = 499 OR upstream_error = 1)
          AND json_extract(tags, '$.attempt') IS NOT 'abandoned'
        GROUP BY 1, 2 ORDER BY 1, 2`,
    )
    .all<AttemptSeries>();
  return capSeries(
    results,
    MAX_ATTEMPT_SERIES,
    (s) => s.attempts,
    (into, from) => (into.attempts += from.attempts),
    (first) => ({ provider: OTHER_LABEL, model: OTHER_LABEL, outcome: "ok", attempts: first.attempts }),
  ).map((s) => ({ ...s, provider: cut(s.provider), model: cut(s.model) }));
}
