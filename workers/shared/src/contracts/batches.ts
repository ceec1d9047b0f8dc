import { z } from "zod";

/**
 * OpenAI's Files and Batch APIs as the gateway serves them (tail owns files and batches; the
 * gateway authenticates and forwards). The request schemas validate in tail; the object schemas
 * describe tail's answers in the gateway's OpenAPI document (node_modules/openai/resources/files.d.ts
 * `FileObject`, batches.d.ts `Batch`, `BatchUsage`).
 */

/** The endpoints a batch may target: each line runs as that operation through the gateway's path. */
export const BATCH_ENDPOINTS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

export const BATCH_STATUSES = ["validating", "failed", "in_progress", "finalizing", "completed", "expired", "cancelling", "cancelled"] as const;

/** OpenAI's metadata: at most 16 pairs, keys ≤ 64 and values ≤ 512 characters. */
export const BatchMetadataSchema = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, "metadata has more than 16 keys")
  .nullable()
  .optional()
  .describe("Up to 16 key-value pairs (keys ≤ 64, values ≤ 512 characters), returned on the batch.");

export const BatchCreateSchema = z
  .object({
    input_file_id: z.string().min(1).max(128).describe("A file of yours with purpose `batch`: one JSON request per line."),
    endpoint: z.enum(BATCH_ENDPOINTS).describe("What every line calls; each line's `url` must equal it."),
    completion_window: z.literal("24h"),
    metadata: BatchMetadataSchema,
  })
  .strict()
  .meta({ id: "BatchCreate" });

/** `POST /v1/batch`: the same job inline. Its requests become a JSONL input file, then it is an ordinary batch. */
export const InlineBatchSchema = z
  .object({
    endpoint: z.enum(BATCH_ENDPOINTS),
    completion_window: z.literal("24h").default("24h"),
    metadata: BatchMetadataSchema,
    requests: z
      .array(z.unknown())
      .min(1)
      .describe('The lines of the input file: `{custom_id, method: "POST", url: <endpoint>, body}` each, validated like an uploaded file\'s.'),
  })
  .strict()
  .meta({ id: "InlineBatchCreate" });

export const BatchListQuerySchema = z
  .object({
    after: z.string().max(128).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();

export const FileListQuerySchema = z
  .object({
    after: z.string().max(128).optional(),
    limit: z.coerce.number().int().min(1).max(10_000).default(10_000),
    order: z.enum(["asc", "desc"]).default("desc"),
    purpose: z.string().max(64).optional(),
  })
  .strict();

/** OpenAI's file object. */
export const FileObjectSchema = z
  .object({
    id: z.string().describe("`file-…`"),
    object: z.literal("file"),
    bytes: z.number().int(),
    created_at: z.number().int(),
    filename: z.string(),
    purpose: z.string().describe("`batch` for uploads; `batch_output` for a batch's output and error files."),
    status: z.enum(["uploaded", "processed", "error"]),
    expires_at: z.number().int().nullable(),
    status_details: z.null(),
  })
  .meta({ id: "FileObject" });

export const FileListSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(FileObjectSchema),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  })
  .meta({ id: "FileList" });

export const DeletedFileSchema = z.object({ id: z.string(), object: z.literal("file"), deleted: z.literal(true) }).meta({ id: "DeletedFile" });

/** OpenAI's `BatchUsage`: every recorded line's metered usage, summed. */
export const BatchUsageSchema = z
  .object({
    input_tokens: z.number().int().describe("Every prompt token of the batch's lines (cache reads and writes included)."),
    input_tokens_details: z.object({ cached_tokens: z.number().int() }),
    output_tokens: z.number().int().describe("Every generated token (reasoning included)."),
    output_tokens_details: z.object({ reasoning_tokens: z.number().int() }),
    total_tokens: z.number().int(),
  })
  .meta({ id: "BatchUsage" });

const timestamp = z.number().int().nullable();

/** OpenAI's batch object. */
export const BatchObjectSchema = z
  .object({
    id: z.string().describe("`batch_…`"),
    object: z.literal("batch"),
    endpoint: z.enum(BATCH_ENDPOINTS),
    errors: z
      .object({
        object: z.literal("list"),
        data: z.array(z.object({ code: z.string(), message: z.string(), param: z.string().nullable(), line: z.number().int().nullable() })),
      })
      .nullable()
      .describe("Why a batch `failed` validation: every offending line (1-based), up to 1,000."),
    input_file_id: z.string(),
    completion_window: z.literal("24h"),
    status: z.enum(BATCH_STATUSES),
    output_file_id: z.string().nullable().describe("Lines answered 2xx: `{id, custom_id, response: {status_code, request_id, body}, error: null}`."),
    error_file_id: z.string().nullable().describe("Lines answered with an error status, or never answered (`error` set)."),
    created_at: z.number().int(),
    in_progress_at: timestamp,
    expires_at: z.number().int(),
    finalizing_at: timestamp,
    completed_at: timestamp,
    failed_at: timestamp,
    expired_at: timestamp,
    cancelling_at: timestamp,
    cancelled_at: timestamp,
    request_counts: z.object({ total: z.number().int(), completed: z.number().int(), failed: z.number().int() }),
    usage: BatchUsageSchema,
    metadata: z.record(z.string(), z.string()).nullable(),
  })
  .meta({ id: "Batch" });

export const BatchListSchema = z
  .object({
    object: z.literal("list"),
    data: z.array(BatchObjectSchema),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
    has_more: z.boolean(),
  })
  .meta({ id: "BatchList" });
