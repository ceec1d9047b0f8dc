import { z } from "zod";
import { SubjectIdSchema } from "../../../shared/src/contracts/limiter";

export const UsageQuerySchema = z
  .object({
    tenant_id: z.string().min(1),
    key_id: z.string().min(1).optional(),
    /** 'YYYY-MM' (UTC). */
    month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
  })
  .strict();
export type UsageQuery = z.infer<typeof UsageQuerySchema>;

export const MonthSpendQuerySchema = z
  .object({
    subject: SubjectIdSchema,
    month: z.string().regex(/^\d{4}-(0[1-9]|1[0-2])$/),
  })
  .strict();
export type MonthSpendQuery = z.infer<typeof MonthSpendQuerySchema>;

/** Sum of recorded cost (µ$) of a key or a tenant in a month, from the rollups. */
export async function monthSpendMicros(db: D1Database, q: MonthSpendQuery): Promise<number> {
  const colon = q.subject.indexOf(":");
  const column = q.subject.slice(0, colon) === "key" ? "key_id" : "tenant_id";
  const row = await db
    .prepare(`SELECT COALESCE(SUM(cost_usd_micros), 0) AS micros FROM usage_monthly WHERE month = ? AND ${column} = ?`)
    .bind(q.month, q.subject.slice(colon + 1))
    .first<{ micros: number }>();
  return row?.micros ?? 0;
}

export interface UsageByModel {
  key_id: string;
  model: string;
  requests: number;
  prompt_tokens: number;
  completion_tokens: number;
  cached_tokens: number;
  cache_write_tokens: number;
  reasoning_tokens: number;
  total_tokens: number;
  cost_usd_micros: number;
}

export interface UsageSummary {
  tenant_id: string;
  key_id: string | null;
  month: string;
  requests: number;
  total_tokens: number;
  cost_usd_micros: number;
  by_model: UsageByModel[];
}

/** Month-to-date usage of a tenant (or one of its keys) from the rollup table. */
export async function usageSummary(db: D1Database, q: UsageQuery): Promise<UsageSummary> {
  const stmt = q.key_id
    ? db.prepare("SELECT * FROM usage_monthly WHERE month = ? AND tenant_id = ? AND key_id = ? ORDER BY key_id, model").bind(q.month, q.tenant_id, q.key_id)
    : db.prepare("SELECT * FROM usage_monthly WHERE month = ? AND tenant_id = ? ORDER BY key_id, model").bind(q.month, q.tenant_id);
  const { results } = await stmt.all<UsageByModel & { month: string; tenant_id: string }>();
  const by_model = results.map(
    ({ key_id, model, requests, prompt_tokens, completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd_micros }) => ({
      key_id,
      model,
      requests,
      prompt_tokens,
      completion_tokens,
      cached_tokens,
      cache_write_tokens,
      reasoning_tokens,
      total_tokens,
      cost_usd_micros,
    }),
  );
  return {
    tenant_id: q.tenant_id,
    key_id: q.key_id ?? null,
    month: q.month,
    requests: sum(by_model, "requests"),
    total_tokens: sum(by_model, "total_tokens"),
    cost_usd_micros: sum(by_model, "cost_usd_micros"),
    by_model,
  };
}

const sum = (rows: UsageByModel[], k: keyof UsageByModel) => rows.reduce((n, r) => n + Number(r[k]), 0);
