import { fail, ok, type Result } from "../../../shared/src";
import { MAX_RESULT_ROWS, type Page } from "../../../shared/src/contracts/usage-api";
import type { UsageScope } from "./reader";

/** Sums of one group in one bucket, as read from `usage_rollups` (migrations/billing/0005). */
export interface RollupRow {
  bucket_start: number;
  tenant_id: string | null;
  key_id: string | null;
  model: string | null;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  total_tokens: number;
  cost_usd_micros: number;
}

/** Rollup columns a `group_by` can name. */
export type RollupColumn = "tenant_id" | "key_id" | "model";

export interface RollupQuery {
  scope: UsageScope;
  /** Bucket width, seconds: one of the widths the rollups keep. */
  width: number;
  /** Metered operations included (usage endpoints split completions from embeddings). */
  operations: readonly string[];
  groups: readonly RollupColumn[];
  start_time: number;
  end_time?: number | undefined;
  limit: number;
  page?: string | undefined;
  nowSeconds: number;
}

/**
 * One page of buckets on the UTC grid of `width`: `start_time` rounded down, `end_time` (default
 * now) up, `limit` buckets from `page` (the start of the first bucket, as `next_page` gave it).
 * Every bucket of the range is listed, empty ones with no results, as OpenAI does. A page holds
 * at most MAX_RESULT_ROWS results: it stops before the bucket that would pass that (unless it is
 * the first), and `next_page` goes on from there.
 */
export async function rollupPage<R>(db: D1Database, q: RollupQuery, toResult: (row: RollupRow) => R): Promise<Result<Page<R>>> {
  const first = Math.floor(q.start_time / q.width) * q.width;
  const end = Math.ceil((q.end_time ?? q.nowSeconds) / q.width) * q.width;
  const from = q.page === undefined ? first : Number(q.page);
  if (from < first || from >= Math.max(end, first + q.width) || (from - first) % q.width !== 0) {
    return fail({ code: "invalid_request", message: "`page` is not a next_page value of this query.", param: "page" });
  }
  let to = Math.min(Math.max(end, first + q.width), from + q.limit * q.width);

  const select = q.groups.map((g) => `, ${g}`).join("");
  const where = ["width = ?", "bucket_start >= ?", "bucket_start < ?", `operation IN (${q.operations.map(() => "?").join(", ")})`];
  const binds: unknown[] = [q.width, from, to, ...q.operations];
  if (q.scope.tenantId !== null) {
    where.push("tenant_id = ?");
    binds.push(q.scope.tenantId);
  }
  const { results } = await db
    .prepare(
      `SELECT bucket_start${select}, SUM(requests) AS requests, SUM(prompt_tokens) AS prompt_tokens, SUM(completion_tokens) AS completion_tokens,
              SUM(cached_tokens) AS cached_tokens, SUM(total_tokens) AS total_tokens, SUM(cost_usd_micros) AS cost_usd_micros
       FROM usage_rollups WHERE ${where.join(" AND ")}
       GROUP BY bucket_start${select} ORDER BY bucket_start${select} LIMIT ?`,
    )
    .bind(...binds, MAX_RESULT_ROWS + 1)
    .all<RollupRow>();
  let rows = results;
  if (rows.length > MAX_RESULT_ROWS) {
    const cut = rows[MAX_RESULT_ROWS]!.bucket_start;
    // The bucket the cap falls in goes to the next page whole; a first bucket too big for any page is cut.
    to = cut > from ? cut : from + q.width;
    rows = rows.slice(0, MAX_RESULT_ROWS).filter((r) => r.bucket_start < to);
  }

  const data: Page<R>["data"] = [];
  const byStart = new Map<number, R[]>();
  for (let t = from; t < to; t += q.width) {
    const bucket = { object: "bucket" as const, start_time: t, end_time: t + q.width, results: [] as R[] };
    byStart.set(t, bucket.results);
    data.push(bucket);
  }
  for (const row of rows) byStart.get(row.bucket_start)?.push(toResult(row));
  const hasMore = to < end;
  return ok({ object: "page", data, has_more: hasMore, next_page: hasMore ? String(to) : null });
}
