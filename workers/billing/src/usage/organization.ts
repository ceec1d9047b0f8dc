import { fail, ok, validationError, type Result } from "../../../shared/src";
import {
  BUCKET_LIMITS,
  BUCKET_SECONDS,
  COSTS_LIMIT,
  CostsQuerySchema,
  USAGE_KINDS,
  UsageBucketsQuerySchema,
  type CostGroup,
  type CostResult,
  type Page,
  type UsageGroup,
  type UsageKind,
  type UsageResult,
} from "../../../shared/src/contracts/usage-api";
import { rollupPage, type RollupColumn, type RollupRow } from "./buckets";
import type { UsageScope } from "./reader";

const USAGE_COLUMNS: Record<UsageGroup, RollupColumn | null> = { model: "model", api_key_id: "key_id", tenant_id: "tenant_id", project_id: null };
const COST_COLUMNS: Record<CostGroup, RollupColumn | null> = { line_item: "model", api_key_id: "key_id", tenant_id: "tenant_id", project_id: null };

/**
 * The columns to group by. `project_id` groups nothing (no projects here); `tenant_id` is the
 * admin's alone — a tenant sees one tenant, and its key is refused the option like any unknown one.
 */
function columns<G extends string>(groups: readonly G[] | undefined, map: Record<G, RollupColumn | null>, scope: UsageScope): Result<RollupColumn[]> {
  const out = new Set<RollupColumn>();
  for (const g of groups ?? []) {
    if (g === "tenant_id" && scope.tenantId !== null) {
      return fail({ code: "invalid_request", message: "group_by 'tenant_id' is available on the admin's /admin/usage routes only.", param: "group_by" });
    }
    const column = map[g];
    if (column) out.add(column);
  }
  return ok([...out]);
}

/** `/v1/organization/usage/{completions,embeddings}` (and the admin's twins) from the rollups. */
export async function usageBuckets(db: D1Database, scope: UsageScope, kind: UsageKind, query: unknown, nowSeconds: number): Promise<Result<Page<UsageResult>>> {
  const parsed = UsageBucketsQuerySchema.safeParse(query);
  if (!parsed.success) return fail(validationError(parsed.error));
  const q = parsed.data;
  const groups = columns(q.group_by, USAGE_COLUMNS, scope);
  if (!groups.ok) return groups;
  const has = (c: RollupColumn) => groups.value.includes(c);
  const admin = scope.tenantId === null;
  return rollupPage(
    db,
    {
      ...q,
      scope,
      width: BUCKET_SECONDS[q.bucket_width],
      operations: USAGE_KINDS[kind],
      groups: groups.value,
      limit: q.limit ?? BUCKET_LIMITS[q.bucket_width].default,
      nowSeconds,
    },
    (r: RollupRow): UsageResult => ({
      object: kind === "completions" ? "organization.usage.completions.result" : "organization.usage.embeddings.result",
      input_tokens: r.prompt_tokens,
      ...(kind === "completions"
        ? { output_tokens: r.completion_tokens, input_cached_tokens: r.cached_tokens, input_audio_tokens: 0, output_audio_tokens: 0 }
        : {}),
      num_model_requests: r.requests,
      project_id: null,
      user_id: null,
      api_key_id: has("key_id") ? r.key_id : null,
      model: has("model") ? r.model : null,
      ...(kind === "completions" ? { batch: null } : {}),
      ...(admin ? { tenant_id: has("tenant_id") ? r.tenant_id : null } : {}),
    }),
  );
}

/** `/v1/organization/costs` (and `/admin/costs`): 1d buckets of integer micro-dollars from the rollups. */
export async function costBuckets(db: D1Database, scope: UsageScope, query: unknown, nowSeconds: number): Promise<Result<Page<CostResult>>> {
  const parsed = CostsQuerySchema.safeParse(query);
  if (!parsed.success) return fail(validationError(parsed.error));
  const q = parsed.data;
  const groups = columns(q.group_by, COST_COLUMNS, scope);
  if (!groups.ok) return groups;
  const has = (c: RollupColumn) => groups.value.includes(c);
  const admin = scope.tenantId === null;
  const operations = [...USAGE_KINDS.completions, ...USAGE_KINDS.embeddings];
  return rollupPage(
    db,
    { ...q, scope, width: BUCKET_SECONDS["1d"], operations, groups: groups.value, limit: q.limit ?? COSTS_LIMIT.default, nowSeconds },
    (r: RollupRow): CostResult => ({
      object: "organization.costs.result",
      amount: { value: r.cost_usd_micros / 1_000_000, currency: "usd" },
      cost_usd_micros: r.cost_usd_micros,
      line_item: has("model") ? r.model : null,
      project_id: null,
      api_key_id: has("key_id") ? r.key_id : null,
      ...(admin ? { tenant_id: has("tenant_id") ? r.tenant_id : null } : {}),
    }),
  );
}
