import { fail, ok, validationError, type Result } from "../../../shared/src";
import {
  CONSOLE_BUCKETS,
  CONSOLE_MAX_GROUP_ROWS,
  CONSOLE_MAX_WINDOW,
  ConsoleReportQuerySchema,
  type ConsoleAttempt,
  type ConsoleBucket,
  type ConsoleFigures,
  type ConsoleGroup,
  type ConsoleRecentRequest,
  type ConsoleReport,
} from "../../../shared/src/contracts/console";
import { monthOf } from "../../../shared/src/pricing";
import type { UsageScope } from "./reader";

/**
 * The console's report (contracts/console.ts) from the usage ledger: one D1 batch of aggregate
 * queries over the window's `usage_events` rows. A tenant's rows are found by the
 * (tenant_id, month, started_at) index; an operator's report across tenants reads the window's
 * months of the ledger (bounded: ≤ 31 days), which is why it is the console's and not the hot path's.
 */
const FIGURES = `COUNT(*) AS requests,
  COALESCE(SUM(CASE WHEN status >= 400 OR upstream_error = 1 THEN 1 ELSE 0 END), 0) AS errors,
  COALESCE(SUM(prompt_tokens), 0) AS input_tokens, COALESCE(SUM(completion_tokens), 0) AS output_tokens,
  COALESCE(SUM(total_tokens), 0) AS total_tokens, COALESCE(SUM(cost_usd_micros), 0) AS cost_usd_micros`;

const ABANDONED = "json_extract(tags, '$.attempt') = 'abandoned'";

interface RecentRow {
  request_id: string;
  started_at: number;
  key_id: string;
  tenant_id: string;
  operation: string;
  requested_model: string;
  provider: string | null;
  model: string | null;
  status: number;
  stream: number;
  latency_ms: number;
  total_tokens: number;
  cost_usd_micros: number;
}

/** The calendar months (UTC, 'YYYY-MM') a window [startMs, endMs) touches: the ledger's index prefix. */
function monthsOf(startMs: number, endMs: number): string[] {
  const out = [monthOf(startMs)];
  const d = new Date(startMs);
  for (let m = Date.UTC(d.getUTCFullYear(), d.getUTCMonth() + 1, 1); m < endMs;) {
    out.push(monthOf(m));
    const n = new Date(m);
    m = Date.UTC(n.getUTCFullYear(), n.getUTCMonth() + 1, 1);
  }
  return out;
}

const figures = (r: ConsoleFigures): ConsoleFigures => ({
  requests: r.requests,
  errors: r.errors,
  input_tokens: r.input_tokens,
  output_tokens: r.output_tokens,
  total_tokens: r.total_tokens,
  cost_usd_micros: r.cost_usd_micros,
});

export async function consoleReport(db: D1Database, scope: UsageScope, query: unknown, nowSeconds: number): Promise<Result<ConsoleReport>> {
  const parsed = ConsoleReportQuerySchema.safeParse(query);
  if (!parsed.success) return fail(validationError(parsed.error));
  const q = parsed.data;
  // A tenant's reader names no other tenant: any other id is unknown to it.
  if (scope.tenantId !== null && q.tenant_id !== undefined && q.tenant_id !== scope.tenantId) {
    return fail({ code: "not_found", message: "No usage was found for this tenant.", param: "tenant_id" });
  }
  const tenantId = scope.tenantId ?? q.tenant_id ?? null;
  const width = CONSOLE_BUCKETS[q.bucket_width];
  const start = Math.floor(q.start_time / width) * width;
  const end = Math.ceil((q.end_time ?? nowSeconds + 1) / width) * width;
  if (end <= start) return fail({ code: "invalid_request", message: "end_time must be after start_time.", param: "end_time" });
  if (end - start > CONSOLE_MAX_WINDOW[q.bucket_width]) {
    return fail({
      code: "invalid_request",
      message: `A report with bucket_width ${q.bucket_width} covers at most ${CONSOLE_MAX_WINDOW[q.bucket_width] / 86_400} days.`,
      param: "start_time",
    });
  }
  const where = `started_at >= ?1 AND started_at < ?2 AND month IN (SELECT value FROM json_each(?3))${tenantId === null ? "" : " AND tenant_id = ?4"}`;
  const binds: unknown[] = [start * 1000, end * 1000, JSON.stringify(monthsOf(start * 1000, end * 1000))];
  if (tenantId !== null) binds.push(tenantId);
  const n = binds.length;
  const stmt = (sql: string, ...extra: unknown[]) => db.prepare(sql).bind(...binds, ...extra);
  const group = (column: string) =>
    stmt(`SELECT ${column} AS name, ${FIGURES} FROM usage_events WHERE ${where} GROUP BY 1 ORDER BY requests DESC, name LIMIT ${CONSOLE_MAX_GROUP_ROWS}`);

  const [totals, series, percentiles, byModel, byProvider, byKey, byTenant, recent] = await db.batch<Record<string, unknown>>([
    stmt(`SELECT ${FIGURES} FROM usage_events WHERE ${where}`),
    // The width is one of CONSOLE_BUCKETS' integers, written into the SQL: a bound JS number may arrive as a REAL, and
    // integer division must stay integer for the buckets to fall on the grid.
    stmt(`SELECT (started_at / 1000 / ${width}) * ${width} AS start_time, ${FIGURES} FROM usage_events WHERE ${where} GROUP BY 1 ORDER BY 1`),
    stmt(
      `SELECT rn, n, latency_ms FROM (
         SELECT latency_ms, ROW_NUMBER() OVER (ORDER BY latency_ms) AS rn, COUNT(*) OVER () AS n FROM usage_events WHERE ${where}
       ) WHERE rn = (n * 50 + 99) / 100 OR rn = (n * 95 + 99) / 100`,
    ),
    group("COALESCE(model, requested_model)"),
    group("COALESCE(provider, '')"),
    group("key_id"),
    tenantId === null ? group("tenant_id") : db.prepare("SELECT 1 WHERE 0"),
    stmt(
      `SELECT request_id, started_at, key_id, tenant_id, operation, requested_model, provider, model, status, stream, latency_ms, total_tokens, cost_usd_micros
         FROM usage_events WHERE ${where} AND json_extract(tags, '$.attempt') IS NULL ORDER BY started_at DESC, request_id DESC LIMIT ?${n + 1}`,
      q.recent,
    ),
  ]);

  const recentRows = recent!.results as unknown as RecentRow[];
  const abandoned = new Map<string, ConsoleAttempt[]>();
  if (recentRows.length > 0) {
    const { results } = await stmt(
      `SELECT request_id, provider, model, status FROM usage_events WHERE ${where} AND ${ABANDONED}
          AND substr(request_id, 1, instr(request_id, '.attempt') - 1) IN (SELECT value FROM json_each(?${n + 1})) ORDER BY request_id`,
      JSON.stringify(recentRows.map((r) => r.request_id)),
    ).all<ConsoleAttempt>();
    for (const a of results) {
      const parent = a.request_id.slice(0, a.request_id.indexOf(".attempt"));
      abandoned.set(parent, [...(abandoned.get(parent) ?? []), a]);
    }
  }

  const total = figures(totals!.results[0] as unknown as ConsoleFigures);
  const ranks = percentiles!.results as unknown as { rn: number; n: number; latency_ms: number }[];
  const at = (pct: number) => ranks.find((r) => r.rn === Math.floor((r.n * pct + 99) / 100))?.latency_ms ?? null;
  const filled = new Map((series!.results as unknown as ConsoleBucket[]).map((b) => [b.start_time, b]));
  const zero: ConsoleFigures = { requests: 0, errors: 0, input_tokens: 0, output_tokens: 0, total_tokens: 0, cost_usd_micros: 0 };
  const buckets: ConsoleBucket[] = [];
  for (let t = start; t < end; t += width) buckets.push({ start_time: t, ...figures(filled.get(t) ?? zero) });
  const groups = (r: D1Result<Record<string, unknown>>): ConsoleGroup[] =>
    (r.results as unknown as ConsoleGroup[]).map((g) => ({ name: String(g.name), ...figures(g) }));

  return ok({
    object: "console.report",
    tenant_id: tenantId,
    start_time: start,
    end_time: end,
    bucket_width: q.bucket_width,
    totals: {
      ...total,
      error_rate: total.requests === 0 ? 0 : total.errors / total.requests,
      latency_p50_ms: at(50),
      latency_p95_ms: at(95),
    },
    series: buckets,
    by_model: groups(byModel!),
    by_provider: groups(byProvider!),
    by_key: groups(byKey!),
    by_tenant: tenantId === null ? groups(byTenant!) : [],
    recent: recentRows.map((r): ConsoleRecentRequest => ({
      request_id: r.request_id,
      created_at: Math.floor(r.started_at / 1000),
      api_key_id: r.key_id,
      tenant_id: r.tenant_id,
      operation: r.operation,
      requested_model: r.requested_model,
      provider: r.provider,
      model: r.model,
      status: r.status,
      stream: r.stream === 1,
      latency_ms: r.latency_ms,
      total_tokens: r.total_tokens,
      cost_usd_micros: r.cost_usd_micros,
      attempts: (abandoned.get(r.request_id)?.length ?? 0) + 1,
      abandoned_attempts: abandoned.get(r.request_id) ?? [],
    })),
  });
}
