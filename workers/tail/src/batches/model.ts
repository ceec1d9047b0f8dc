import { z } from "zod";
import { randomBase62 } from "../../../shared/src";

/** The endpoints a batch may target: each line runs as that operation through the gateway's path. */
export const BATCH_ENDPOINTS = ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"] as const;
export type BatchEndpoint = (typeof BATCH_ENDPOINTS)[number];

export type BatchStatus = "validating" | "failed" | "in_progress" | "finalizing" | "completed" | "expired" | "cancelling" | "cancelled";
export const TERMINAL: readonly BatchStatus[] = ["failed", "completed", "expired", "cancelled"];

export interface BatchLineError {
  code: string;
  message: string;
  param: string | null;
  line: number | null;
}

/** OpenAI's batch object (node_modules/openai/resources/batches.d.ts `Batch`), with nulls where OpenAI sends them. */
export interface BatchObject {
  id: string;
  object: "batch";
  endpoint: BatchEndpoint;
  errors: { object: "list"; data: BatchLineError[] } | null;
  input_file_id: string;
  completion_window: "24h";
  status: BatchStatus;
  output_file_id: string | null;
  error_file_id: string | null;
  created_at: number;
  in_progress_at: number | null;
  expires_at: number;
  finalizing_at: number | null;
  completed_at: number | null;
  failed_at: number | null;
  expired_at: number | null;
  cancelling_at: number | null;
  cancelled_at: number | null;
  request_counts: { total: number; completed: number; failed: number };
  metadata: Record<string, string> | null;
}

export const newBatchId = (): string => `batch_${randomBase62(24)}`;

/**
 * The gateway's own id of one batch line's request: derived from the batch id (server-made) and the
 * line number, never from the client's `custom_id`. It is the line's usage event id, so a line that
 * ran twice (a redelivered message) is billed once: billing keeps the first event of an id.
 */
export const lineRequestId = (batchId: string, line: number): string => `req_${batchId.replace(/^batch_/, "")}_${line}`;

/** OpenAI's metadata: at most 16 pairs, keys ≤ 64 and values ≤ 512 characters. */
export const MetadataSchema = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, "metadata has more than 16 keys")
  .nullable()
  .optional();

export const BatchCreateSchema = z
  .object({
    input_file_id: z.string().min(1).max(128),
    endpoint: z.enum(BATCH_ENDPOINTS),
    completion_window: z.literal("24h"),
    metadata: MetadataSchema,
  })
  .strict();

/** `POST /v1/batch`: the same job inline. Its requests become a JSONL input file, then it is an ordinary batch. */
export const InlineBatchSchema = z
  .object({
    endpoint: z.enum(BATCH_ENDPOINTS),
    completion_window: z.literal("24h").default("24h"),
    metadata: MetadataSchema,
    requests: z.array(z.unknown()).min(1),
  })
  .strict();

export const BatchListQuerySchema = z
  .object({
    after: z.string().max(128).optional(),
    limit: z.coerce.number().int().min(1).max(100).default(20),
  })
  .strict();

/** A `batch-requests` Queue message: a reference to a range of lines of the input file, never their bodies. */
export const ChunkMessageSchema = z
  .object({
    v: z.literal(1),
    batch_id: z.string().regex(/^batch_[A-Za-z0-9]{1,64}$/),
    file_id: z.string().min(1).max(128),
    /** 1-based line numbers, inclusive. */
    first_line: z.number().int().positive(),
    last_line: z.number().int().positive(),
    /** The byte range of those lines in the file. */
    offset: z.number().int().nonnegative(),
    length: z.number().int().positive(),
  })
  .strict();
export type ChunkMessage = z.infer<typeof ChunkMessageSchema>;

/** What one line's execution produced, recorded once by the coordinator. */
export type LineResult =
  { line: number; response: { status_code: number; request_id: string; body: string } } | { line: number; error: { code: string; message: string } };

/** The coordinator's answer to a consumer about to run a chunk. */
export type Claim =
  { run: false } | { run: true; tenantId: string; keyId: string; endpoint: BatchEndpoint; inputKey: string; pending: { line: number; customId: string }[] };
