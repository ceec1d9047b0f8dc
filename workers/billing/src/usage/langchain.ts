import { fail, microsToUsdString, ok, validationError, type Result } from "../../../shared/src";
import {
  LangchainUsageQuerySchema,
  MAX_LANGCHAIN_GROUPS,
  MAX_RUN_ENTRIES,
  RunIdSchema,
  type LangchainRun,
  type LangchainSums,
  type LangchainUsage,
  type RunEntry,
} from "../../../shared/src/contracts/langchain";
import type { PricedUsage } from "./record";
import type { UsageScope } from "./reader";

/**
 * The LangChain endpoint's labels in billing's D1 (migrations/billing/0007) and the queries over
 * them: `/v1/langchain/usage` and `/v1/langchain/runs/{run_id}`. Tokens and cost are read from
 * usage_events (joined by request_id), so every figure is the one billing recorded for the request.
 */

/** D1 binds at most 100 parameters per statement. */
const MAX_BINDS = 100;

/** Multi-row `INSERT … ON CONFLICT DO NOTHING` statements of `rows` (each `columns.length` values), as few as the bind limit allows. */
function inserts(db: D1Database, table: string, columns: readonly string[], rows: readonly unknown[][]): D1PreparedStatement[] {
  const perStatement = Math.floor(MAX_BINDS / columns.length);
  const row = `(${columns.map(() => "?").join(", ")})`;
  const out: D1PreparedStatement[] = [];
  for (let i = 0; i < rows.length; i += perStatement) {
    const chunk = rows.slice(i, i + perStatement);
    out.push(db.prepare(`INSERT INTO ${table} (${columns.join(", ")}) VALUES ${chunk.map(() => row).join(", ")} ON CONFLICT DO NOTHING`).bind(...chunk.flat()));
  }
  return out;
}

const REQUEST_COLUMNS = ["request_id", "tenant_id", "run_id", "parent_run_id", "session_id", "project", "metadata", "started_at"] as const;
const TAG_COLUMNS = ["request_id", "tenant_id", "tag", "started_at"] as const;

/**
 * The label rows of the events that carry a correlation (requests made through `/v1/langchain`),
 * for the same D1 batch as their usage_events rows: idempotent by request id like them.
 */
export function correlationStatements(db: D1Database, rows: readonly PricedUsage[]): D1PreparedStatement[] {
  const requests: unknown[][] = [];
  const tags: unknown[][] = [];
  for (const { event: e } of rows) {
    const c = e.correlation;
    if (!c) continue;
    requests.push([e.request_id, e.tenant_id, c.run_id, c.parent_run_id, c.session_id, c.project, c.metadata, e.started_at]);
    for (const tag of new Set(c.tags)) tags.push([e.request_id, e.tenant_id, tag, e.started_at]);
  }
  return [...inserts(db, "langchain_requests", REQUEST_COLUMNS, requests), ...inserts(db, "langchain_request_tags", TAG_COLUMNS, tags)];
}

interface SumsRow {
  requests: number;
  input_tokens: number | null;
  output_tokens: number | null;
  cached_tokens: number | null;
  cache_write_tokens: number | null;
  reasoning_tokens: number | null;
  cost_usd_micros: number | null;
}

const SUMS = `COUNT(*) AS requests, SUM(e.prompt_tokens) AS input_tokens, SUM(e.completion_tokens) AS output_tokens,
  SUM(e.cached_tokens) AS cached_tokens, SUM(e.cache_write_tokens) AS cache_write_tokens, SUM(e.reasoning_tokens) AS reasoning_tokens, SUM(e.cost_usd_micros) AS cost_usd_micros`;

function sums(row: SumsRow | null): LangchainSums {
  const micros = row?.cost_usd_micros ?? 0;
  return {
    requests: row?.requests ?? 0,
    input_tokens: row?.input_tokens ?? 0,
    output_tokens: row?.output_tokens ?? 0,
    cached_tokens: row?.cached_tokens ?? 0,
    cache_write_tokens: row?.cache_write_tokens ?? 0,
    reasoning_tokens: row?.reasoning_tokens ?? 0,
    cost_usd: microsToUsdString(micros),
    cost_usd_micros: micros,
  };
}

/** What each `group_by` groups on (over `langchain_requests r JOIN usage_events e`, and `g` the tags for `tag`). */
const GROUPS = {
  model: "COALESCE(e.model, e.requested_model)",
  day: "strftime('%Y-%m-%d', r.started_at / 1000, 'unixepoch')",
  tag: "g.tag",
} as const;

/** `GET /v1/langchain/usage`: sums of the tenant's labelled requests matching the filters, grouped. */
export async function langchainUsage(db: D1Database, scope: UsageScope, query: unknown): Promise<Result<LangchainUsage>> {
  const parsed = LangchainUsageQuerySchema.safeParse(query);
  if (!parsed.success) return fail(validationError(parsed.error));
  const q = parsed.data;

  const joins: string[] = [];
  const where: string[] = [];
  const binds: unknown[] = [];
  if (q.tag !== undefined) {
    // Driven by the tag index (tenant, tag, time); one row per request (the tag table's key is request × tag).
    joins.push("JOIN langchain_request_tags f ON f.request_id = r.request_id AND f.tag = ?");
    binds.push(q.tag);
  }
  if (scope.tenantId !== null) {
    where.push("r.tenant_id = ?");
    binds.push(scope.tenantId);
  }
  if (q.run_id !== undefined) {
    where.push("r.run_id = ?");
    binds.push(q.run_id);
  }
  if (q.session_id !== undefined) {
    where.push("r.session_id = ?");
    binds.push(q.session_id);
  }
  if (q.start_time !== undefined) {
    where.push("r.started_at >= ?");
    binds.push(q.start_time * 1000);
  }
  if (q.end_time !== undefined) {
    where.push("r.started_at < ?");
    binds.push(q.end_time * 1000);
  }
  const from = (groupJoin = "") =>
    `FROM langchain_requests r JOIN usage_events e ON e.request_id = r.request_id ${joins.join(" ")}${groupJoin} ${where.length ? `WHERE ${where.join(" AND ")}` : ""}`;

  const totals = await db
    .prepare(`SELECT ${SUMS} ${from()}`)
    .bind(...binds)
    .first<SumsRow>();
  let data: LangchainUsage["data"] = [];
  let hasMore = false;
  const groupBy = q.group_by;
  if (groupBy === undefined) {
    if ((totals?.requests ?? 0) > 0) data = [sums(totals)];
  } else {
    // Untagged requests group under a null tag; a request with several tags counts in each.
    const groupJoin = groupBy === "tag" ? " LEFT JOIN langchain_request_tags g ON g.request_id = r.request_id" : "";
    const { results } = await db
      .prepare(`SELECT ${GROUPS[groupBy]} AS grp, ${SUMS} ${from(groupJoin)} GROUP BY grp ORDER BY grp LIMIT ?`)
      .bind(...binds, MAX_LANGCHAIN_GROUPS + 1)
      .all<SumsRow & { grp: string | null }>();
    hasMore = results.length > MAX_LANGCHAIN_GROUPS;
    data = results.slice(0, MAX_LANGCHAIN_GROUPS).map((r) => ({ [groupBy]: r.grp, ...sums(r) }));
  }
  return ok({ object: "langchain.usage", data, has_more: hasMore, totals: sums(totals) });
}

interface RunRow {
  request_id: string;
  parent_run_id: string | null;
  session_id: string | null;
  project: string | null;
  metadata: string | null;
  tags: string;
  operation: string;
  requested_model: string;
  provider: string | null;
  model: string | null;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  cost_usd_micros: number;
  latency_ms: number;
  ttfb_ms: number | null;
  status: number;
  stream: number;
  started_at: number;
}

function jsonObject(text: string | null): Record<string, unknown> | null {
  if (text === null) return null;
  try {
    const v: unknown = JSON.parse(text);
    return typeof v === "object" && v !== null && !Array.isArray(v) ? (v as Record<string, unknown>) : null;
  } catch {
    return null;
  }
}

function tagList(text: string): string[] {
  const v: unknown = JSON.parse(text);
  return Array.isArray(v) ? v.filter((t): t is string => typeof t === "string") : [];
}

function entry(r: RunRow): RunEntry {
  return {
    request_id: r.request_id,
    operation: r.operation,
    requested_model: r.requested_model,
    provider: r.provider,
    model: r.model,
    input_tokens: r.prompt_tokens,
    output_tokens: r.completion_tokens,
    cached_tokens: r.cached_tokens,
    cache_write_tokens: r.cache_write_tokens,
    reasoning_tokens: r.reasoning_tokens,
    total_tokens: r.total_tokens,
    cost_usd: microsToUsdString(r.cost_usd_micros),
    cost_usd_micros: r.cost_usd_micros,
    latency_ms: r.latency_ms,
    ttfb_ms: r.ttfb_ms,
    status: r.status,
    stream: r.stream === 1,
    parent_run_id: r.parent_run_id,
    session_id: r.session_id,
    project: r.project,
    tags: tagList(r.tags),
    metadata: jsonObject(r.metadata),
    created_at: Math.floor(r.started_at / 1000),
  };
}

/**
 * `GET /v1/langchain/runs/{run_id}`: the run's requests (oldest first), its child runs and its
 * totals, within the caller's tenant. A run with neither requests nor children is unknown: 404,
 * also when it is another tenant's.
 */
export async function langchainRun(db: D1Database, scope: UsageScope, runId: unknown): Promise<Result<LangchainRun>> {
  const id = RunIdSchema.safeParse(runId);
  const notFound = fail({
    code: "not_found",
    message: "No request is recorded under this run id (yet): usage is stored within seconds of the answer.",
    param: "run_id",
  } as const);
  if (!id.success) return notFound;
  const tenant = scope.tenantId === null ? "" : "r.tenant_id = ? AND ";
  const tenantBind = scope.tenantId === null ? [] : [scope.tenantId];
  const [rows, totals, children] = await Promise.all([
    db
      .prepare(
        `SELECT r.request_id, r.parent_run_id, r.session_id, r.project, r.metadata,
                (SELECT json_group_array(tag) FROM (SELECT t.tag FROM langchain_request_tags t WHERE t.request_id = r.request_id ORDER BY t.tag)) AS tags,
                e.operation, e.requested_model, e.provider, e.model, e.prompt_tokens, e.completion_tokens, e.cached_tokens, e.cache_write_tokens, e.reasoning_tokens,
                e.total_tokens, e.cost_usd_micros, e.latency_ms, e.ttfb_ms, e.status, e.stream, e.started_at
         FROM langchain_requests r JOIN usage_events e ON e.request_id = r.request_id
         WHERE ${tenant}r.run_id = ? ORDER BY r.started_at, r.request_id LIMIT ?`,
      )
      .bind(...tenantBind, id.data, MAX_RUN_ENTRIES)
      .all<RunRow>(),
    db
      .prepare(`SELECT ${SUMS} FROM langchain_requests r JOIN usage_events e ON e.request_id = r.request_id WHERE ${tenant}r.run_id = ?`)
      .bind(...tenantBind, id.data)
      .first<SumsRow>(),
    db
      .prepare(
        `SELECT r.run_id AS run_id, MIN(r.started_at) AS first FROM langchain_requests r
         WHERE ${tenant}r.parent_run_id = ? AND r.run_id IS NOT NULL GROUP BY r.run_id ORDER BY first, r.run_id LIMIT ?`,
      )
      .bind(...tenantBind, id.data, MAX_RUN_ENTRIES)
      .all<{ run_id: string }>(),
  ]);
  const data = rows.results;
  const childIds = children.results.map((c) => c.run_id);
  if (data.length === 0 && childIds.length === 0) return notFound;
  return ok({
    object: "langchain.run",
    run_id: id.data,
    data: data.map(entry),
    children: childIds,
    totals: sums(totals),
  });
}
