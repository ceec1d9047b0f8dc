import { z } from "zod";

/**
 * The usage API (`/v1/usage/requests/{id}`, `/v1/organization/usage/*`, `/v1/organization/costs`
 * and their `/admin` twins): the query the gateway validates (400 naming `param`) and billing
 * validates again, and the shapes billing answers in — OpenAI's organization Usage and Costs API.
 */

/** Bucket widths in seconds; billing keeps one rollup per width (migrations/billing/0005). */
export const BUCKET_SECONDS = { "1m": 60, "1h": 3_600, "1d": 86_400 } as const;
export type BucketWidth = keyof typeof BUCKET_SECONDS;

/** Buckets per page, as OpenAI bounds them: default and maximum per width. */
export const BUCKET_LIMITS: Record<BucketWidth, { default: number; max: number }> = {
  "1m": { default: 60, max: 1440 },
  "1h": { default: 24, max: 168 },
  "1d": { default: 7, max: 31 },
};
/** The costs API has 1d buckets only; OpenAI's page bound for it. */
export const COSTS_LIMIT = { default: 7, max: 180 } as const;

/**
 * Most result rows one page carries: a page stops before the bucket that would pass it (and goes
 * on at `next_page`), so a tenant with many models or keys cannot make one answer unbounded.
 */
export const MAX_RESULT_ROWS = 5_000;

/** Which metered operations each usage endpoint covers. */
export const USAGE_KINDS = {
  completions: ["chat", "completions", "messages", "batch", "agentic", "langchain"],
  embeddings: ["embeddings"],
} as const;
export type UsageKind = keyof typeof USAGE_KINDS;

/**
 * `group_by` values. `project_id` is accepted for OpenAI compatibility and groups nothing: the
 * gateway has no projects, so every result has `project_id: null`. `tenant_id` is the admin's.
 */
export const USAGE_GROUPS = ["model", "api_key_id", "project_id", "tenant_id"] as const;
export const COST_GROUPS = ["line_item", "api_key_id", "project_id", "tenant_id"] as const;
export type UsageGroup = (typeof USAGE_GROUPS)[number];
export type CostGroup = (typeof COST_GROUPS)[number];

const MAX_GROUPS = 4;
/** Unix seconds from year 2000 to 2100: anything else is a unit mistake (ms) worth a 400. */
const UnixSeconds = z.coerce.number().int().min(946_684_800).max(4_102_444_800);

/** `group_by=a&group_by=b`, `group_by[]=a` and `group_by=a,b` all mean [a, b]. */
const listParam = <T extends readonly [string, ...string[]]>(values: T) =>
  z.preprocess(
    (v) => (v === undefined ? undefined : (Array.isArray(v) ? v : [v]).flatMap((s) => (typeof s === "string" ? s.split(",") : [s])).filter((s) => s !== "")),
    z.array(z.enum(values)).max(MAX_GROUPS).optional(),
  );

const common = {
  start_time: UnixSeconds,
  end_time: UnixSeconds.optional(),
  limit: z.coerce.number().int().min(1).optional(),
  /** The cursor a previous page returned in `next_page`. */
  page: z
    .string()
    .regex(/^\d{1,12}$/, "must be a next_page value")
    .optional(),
};

/** A reversed range, or more buckets per page than OpenAI allows for the width, is a 400 naming the param. */
function checkRange(q: { start_time: number; end_time?: number | undefined; limit?: number | undefined }, max: number, ctx: z.RefinementCtx): void {
  if (q.end_time !== undefined && q.end_time <= q.start_time) ctx.addIssue({ code: "custom", path: ["end_time"], message: "must be after start_time" });
  if (q.limit !== undefined && q.limit > max) ctx.addIssue({ code: "custom", path: ["limit"], message: `must be at most ${max} for this bucket_width` });
}

export const UsageBucketsQuerySchema = z
  .object({ ...common, bucket_width: z.enum(["1m", "1h", "1d"]).default("1d"), group_by: listParam(USAGE_GROUPS) })
  .strict()
  .superRefine((q, ctx) => checkRange(q, BUCKET_LIMITS[q.bucket_width].max, ctx));
export type UsageBucketsQuery = z.output<typeof UsageBucketsQuerySchema>;

export const CostsQuerySchema = z
  .object({ ...common, bucket_width: z.literal("1d").default("1d"), group_by: listParam(COST_GROUPS) })
  .strict()
  .superRefine((q, ctx) => checkRange(q, COSTS_LIMIT.max, ctx));
export type CostsQuery = z.output<typeof CostsQuerySchema>;

const nullableId = z.string().nullable();

export const UsageResultSchema = z.object({
  object: z.enum(["organization.usage.completions.result", "organization.usage.embeddings.result"]),
  input_tokens: z.number().int(),
  /** Completions only (embeddings have input tokens only). */
  output_tokens: z.number().int().optional(),
  input_cached_tokens: z.number().int().optional(),
  input_audio_tokens: z.number().int().optional(),
  output_audio_tokens: z.number().int().optional(),
  num_model_requests: z.number().int(),
  project_id: nullableId,
  user_id: nullableId,
  api_key_id: nullableId,
  model: nullableId,
  batch: z.boolean().nullable().optional(),
  /** Admin routes only, with `group_by=tenant_id`. */
  tenant_id: nullableId.optional(),
});
export type UsageResult = z.infer<typeof UsageResultSchema>;

export const CostResultSchema = z.object({
  object: z.literal("organization.costs.result"),
  /** `value` is `cost_usd_micros` / 1e6; the exact integer is `cost_usd_micros`. */
  amount: z.object({ value: z.number(), currency: z.literal("usd") }),
  cost_usd_micros: z.number().int(),
  /** With `group_by=line_item`: the model. */
  line_item: nullableId,
  project_id: nullableId,
  api_key_id: nullableId.optional(),
  tenant_id: nullableId.optional(),
});
export type CostResult = z.infer<typeof CostResultSchema>;

export const pageSchema = <R extends z.ZodType>(result: R) =>
  z.object({
    object: z.literal("page"),
    data: z.array(
      z.object({
        object: z.literal("bucket"),
        /** Unix seconds, inclusive. */
        start_time: z.number().int(),
        /** Unix seconds, exclusive. */
        end_time: z.number().int(),
        results: z.array(result),
      }),
    ),
    has_more: z.boolean(),
    /** Pass as `page` for the next buckets. */
    next_page: z.string().nullable(),
  });
export type Page<R> = {
  object: "page";
  data: { object: "bucket"; start_time: number; end_time: number; results: R[] }[];
  has_more: boolean;
  next_page: string | null;
};

/** One request's metered record (`GET /v1/usage/requests/{request_id}`). */
export const RequestUsageSchema = z.object({
  object: z.literal("usage.request"),
  request_id: z.string(),
  client_request_id: z.string().nullable(),
  api_key_id: z.string(),
  operation: z.string(),
  requested_model: z.string(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  /**
   * Tokens by kind, OpenAI's semantics (shared/src/token-usage.ts): `prompt_tokens` includes
   * `cached_tokens` (cache reads) and `cache_write_tokens` (cache writes, Anthropic's premium);
   * `completion_tokens` includes `reasoning_tokens`. Each kind is priced once at its own rate.
   */
  prompt_tokens: z.number().int(),
  completion_tokens: z.number().int(),
  cached_tokens: z.number().int(),
  cache_write_tokens: z.number().int(),
  reasoning_tokens: z.number().int(),
  total_tokens: z.number().int(),
  /** Decimal USD, as `x-gateway-cost-usd` showed it. */
  cost_usd: z.string(),
  cost_usd_micros: z.number().int(),
  /** False when the model had no price (cost 0). */
  priced: z.boolean(),
  status: z.number().int(),
  stream: z.boolean(),
  aborted: z.boolean(),
  latency_ms: z.number(),
  ttfb_ms: z.number().nullable(),
  /** Unix seconds when the gateway received the request. */
  created_at: z.number().int(),
});
export type RequestUsage = z.infer<typeof RequestUsageSchema>;

/** Request ids the gateway issues (`req_…`); anything longer is refused before a lookup. */
export const RequestIdSchema = z.string().min(1).max(128);
