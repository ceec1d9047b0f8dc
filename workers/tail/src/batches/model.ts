import { z } from "zod";
import { randomBase62 } from "../../../shared/src";
import type { TokenUsage } from "../../../shared/src/token-usage";

export { BATCH_ENDPOINTS, BatchCreateSchema, BatchListQuerySchema, InlineBatchSchema, type BatchEndpoint } from "../../../shared/src/contracts/batches";
import type { BATCH_STATUSES, BatchEndpoint } from "../../../shared/src/contracts/batches";

export type BatchStatus = (typeof BATCH_STATUSES)[number];
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
  /** The sum of every recorded line's metered usage (OpenAI's `BatchUsage`; see `addLineUsage`). */
  usage: BatchUsage;
  metadata: Record<string, string> | null;
}

/**
 * OpenAI's `BatchUsage` (node_modules/openai/resources/batches.d.ts): `input_tokens` is every
 * prompt token (cache reads and writes included, as OpenAI's usage API counts them),
 * `cached_tokens` the cache reads, `output_tokens` every generated token, `reasoning_tokens` the
 * part of it spent reasoning.
 */
export interface BatchUsage {
  input_tokens: number;
  input_tokens_details: { cached_tokens: number };
  output_tokens: number;
  output_tokens_details: { reasoning_tokens: number };
  total_tokens: number;
}

export const emptyBatchUsage = (): BatchUsage => ({
  input_tokens: 0,
  input_tokens_details: { cached_tokens: 0 },
  output_tokens: 0,
  output_tokens_details: { reasoning_tokens: 0 },
  total_tokens: 0,
});

/**
 * Adds one line's metered usage — the gateway's normalised record (shared/src/token-usage.ts), the
 * numbers the line's usage event carries, never re-read from the answer — to the batch's sum.
 * Called once per recorded line, so a line that ran twice counts once, as it is billed once.
 */
export function addLineUsage(into: BatchUsage, line: TokenUsage): void {
  into.input_tokens += line.promptTokens;
  into.input_tokens_details.cached_tokens += line.cachedTokens;
  into.output_tokens += line.completionTokens;
  into.output_tokens_details.reasoning_tokens += line.reasoningTokens;
  into.total_tokens += line.totalTokens;
}

export const newBatchId = (): string => `batch_${randomBase62(24)}`;

/**
 * The gateway's own id of one batch line's request: derived from the batch id (server-made) and the
 * line number, never from the client's `custom_id`. It is the line's usage event id, so a line that
 * ran twice (a redelivered message) is billed once: billing keeps the first event of an id.
 */
export const lineRequestId = (batchId: string, line: number): string => `req_${batchId.replace(/^batch_/, "")}_${line}`;

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
  | { line: number; response: { status_code: number; request_id: string; body: string }; usage: TokenUsage }
  | { line: number; error: { code: string; message: string } };

/** The coordinator's answer to a consumer about to run a chunk. */
export type Claim =
  { run: false } | { run: true; tenantId: string; keyId: string; endpoint: BatchEndpoint; inputKey: string; pending: { line: number; customId: string }[] };
