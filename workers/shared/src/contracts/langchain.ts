import { z } from "zod";

/**
 * The LangChain endpoint (`/v1/langchain/...`): the correlation labels a request carries in its
 * headers (parsed by the gateway, stored by billing beside the request's usage event) and the
 * query API over them (`/v1/langchain/usage`, `/v1/langchain/runs/{run_id}`).
 *
 * Every label is tenant-controlled text: bounded here, once, and checked again by billing (the
 * usage event is validated with these schemas when it is consumed). Labels are never a key that
 * de-duplicates, authorises or bills: they only group a tenant's own requests.
 */

/** Longest run / session id, project name. */
export const MAX_LC_ID_CHARS = 128;
/** Longest tag, and most tags one request keeps (x-lc-tags and LangSmith's together). */
export const MAX_LC_TAG_CHARS = 64;
export const MAX_LC_TAGS = 16;
/** Largest metadata object (its JSON, UTF-8 bytes), and most keys. */
export const MAX_LC_METADATA_BYTES = 4_096;
export const MAX_LC_METADATA_KEYS = 64;

/** Run ids: LangChain's and LangSmith's are UUIDs; any id of letters, digits and `._:-` is kept. */
export const RunIdSchema = z
  .string()
  .min(1)
  .max(MAX_LC_ID_CHARS)
  .regex(/^[A-Za-z0-9][A-Za-z0-9._:-]*$/, "must be letters, digits and . _ : - only");

/** A label: printable text without control characters, no surrounding spaces. */
const label = (max: number) =>
  z
    .string()
    .min(1)
    .max(max)
    .regex(/^[^\p{Cc}\s](?:[^\p{Cc}]*[^\p{Cc}\s])?$/u, "must be printable text without surrounding spaces");

export const SessionIdSchema = label(MAX_LC_ID_CHARS);
export const ProjectSchema = label(MAX_LC_ID_CHARS);
export const TagSchema = label(MAX_LC_TAG_CHARS).refine((t) => !t.includes(","), "must not contain a comma");

/** The labels of one request made through `/v1/langchain`. Every field may be absent. */
export const CorrelationSchema = z.object({
  run_id: RunIdSchema.nullable().default(null),
  parent_run_id: RunIdSchema.nullable().default(null),
  session_id: SessionIdSchema.nullable().default(null),
  /** LangSmith's project (`langsmith-project` in `baggage`). */
  project: ProjectSchema.nullable().default(null),
  tags: z.array(TagSchema).max(MAX_LC_TAGS).default([]),
  /** A JSON object's text, at most MAX_LC_METADATA_BYTES bytes of UTF-8. */
  metadata: z
    .string()
    .max(MAX_LC_METADATA_BYTES)
    .refine((s) => new TextEncoder().encode(s).length <= MAX_LC_METADATA_BYTES, `must be at most ${MAX_LC_METADATA_BYTES} bytes`)
    .nullable()
    .default(null),
});
export type Correlation = z.output<typeof CorrelationSchema>;

/** Unix seconds from year 2000 to 2100 (the usage API's bounds: anything else is a unit mistake). */
const UnixSeconds = z.coerce.number().int().min(946_684_800).max(4_102_444_800);

export const LANGCHAIN_GROUPS = ["model", "day", "tag"] as const;
export type LangchainGroup = (typeof LANGCHAIN_GROUPS)[number];

/** `GET /v1/langchain/usage`: filters (all optional, combined with AND), one grouping, a time range. */
export const LangchainUsageQuerySchema = z
  .object({
    run_id: RunIdSchema.optional(),
    session_id: SessionIdSchema.optional(),
    tag: TagSchema.optional(),
    group_by: z.enum(LANGCHAIN_GROUPS).optional(),
    start_time: UnixSeconds.optional(),
    end_time: UnixSeconds.optional(),
  })
  .strict()
  .superRefine((q, ctx) => {
    if (q.start_time !== undefined && q.end_time !== undefined && q.end_time <= q.start_time) {
      ctx.addIssue({ code: "custom", path: ["end_time"], message: "must be after start_time" });
    }
  });
export type LangchainUsageQuery = z.output<typeof LangchainUsageQuerySchema>;

/** Most groups one usage answer lists (`has_more` tells when more exist); totals are always exact. */
export const MAX_LANGCHAIN_GROUPS = 1_000;
/** Most requests `GET /v1/langchain/runs/{run_id}` lists, and most child run ids. */
export const MAX_RUN_ENTRIES = 1_000;

/** Token and cost sums of a set of requests: exact integers, cost also as a decimal USD string. */
export const LangchainSumsSchema = z.object({
  requests: z.number().int(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  /** Input tokens read from the provider's cache (included in `input_tokens`). */
  cached_tokens: z.number().int(),
  /** Input tokens written to the provider's cache (included in `input_tokens`; Anthropic's premium). */
  cache_write_tokens: z.number().int(),
  /** Output tokens spent reasoning (included in `output_tokens`). */
  reasoning_tokens: z.number().int(),
  /** Decimal USD, as `x-gateway-cost-usd` shows it. */
  cost_usd: z.string(),
  cost_usd_micros: z.number().int(),
});
export type LangchainSums = z.infer<typeof LangchainSumsSchema>;

export const LangchainUsageSchema = z.object({
  object: z.literal("langchain.usage"),
  data: z.array(
    LangchainSumsSchema.extend({
      /** With `group_by=model`: the served model (else the requested one). */
      model: z.string().optional(),
      /** With `group_by=day`: the UTC day, `YYYY-MM-DD`. */
      day: z.string().optional(),
      /** With `group_by=tag`: the tag; null for requests without tags. A request with two tags counts in both. */
      tag: z.string().nullable().optional(),
    }),
  ),
  has_more: z.boolean(),
  totals: LangchainSumsSchema,
});
export type LangchainUsage = z.infer<typeof LangchainUsageSchema>;

/** One request made under a run. */
export const RunEntrySchema = z.object({
  request_id: z.string(),
  operation: z.string(),
  requested_model: z.string(),
  provider: z.string().nullable(),
  model: z.string().nullable(),
  input_tokens: z.number().int(),
  output_tokens: z.number().int(),
  cached_tokens: z.number().int(),
  cache_write_tokens: z.number().int(),
  reasoning_tokens: z.number().int(),
  total_tokens: z.number().int(),
  cost_usd: z.string(),
  cost_usd_micros: z.number().int(),
  latency_ms: z.number(),
  ttfb_ms: z.number().nullable(),
  status: z.number().int(),
  stream: z.boolean(),
  parent_run_id: z.string().nullable(),
  session_id: z.string().nullable(),
  project: z.string().nullable(),
  tags: z.array(z.string()),
  /** The request's `x-lc-metadata` / LangSmith metadata, as stored (a JSON object), or null. */
  metadata: z.record(z.string(), z.unknown()).nullable(),
  /** Unix seconds when the gateway received the request. */
  created_at: z.number().int(),
});
export type RunEntry = z.infer<typeof RunEntrySchema>;

export const LangchainRunSchema = z.object({
  object: z.literal("langchain.run"),
  run_id: z.string(),
  data: z.array(RunEntrySchema),
  children: z.array(z.string()),
  /** Over every request of this run (its own, not its children's), also past MAX_RUN_ENTRIES. */
  totals: LangchainSumsSchema,
});
export type LangchainRun = z.infer<typeof LangchainRunSchema>;
