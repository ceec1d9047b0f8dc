import { z } from "zod";
import type { TokenUsage } from "../token-usage";

/**
 * tail's batch consumer → the gateway's `BatchLineService.run`: one batch line, run through the
 * gateway's own request path (validation, model check, limits at batch priority, routing and
 * fallbacks in model-proxy, metering) exactly as an interactive request is — never a side door.
 */
export const BatchLineRequestSchema = z
  .object({
    batchId: z.string().regex(/^batch_[A-Za-z0-9]{1,64}$/),
    tenantId: z.string().min(1).max(128),
    /** The key that created the batch: its lines run as that key, re-authenticated when they run. */
    keyId: z.string().min(1).max(128),
    line: z.number().int().positive(),
    customId: z.string().min(1).max(512),
    endpoint: z.enum(["/v1/chat/completions", "/v1/completions", "/v1/embeddings"]),
    /** The line's `body`, as JSON text. */
    body: z.string().max(1024 * 1024),
  })
  .strict();
export type BatchLineRequest = z.infer<typeof BatchLineRequestSchema>;

/**
 * `done`: the answer the client would have seen (status, the gateway's request id, body text) and
 * the usage the gateway metered for it (the one normaliser's record, `token-usage.ts`: exactly what
 * its usage event carries; zero for an answer that used nothing). The batch's `usage` is their sum.
 * `deferred`: the key's or tenant's limits refused the line at batch priority; run it again later.
 */
export type BatchLineOutcome =
  { kind: "done"; status: number; requestId: string; body: string; usage: TokenUsage } | { kind: "deferred"; retryAfterMs: number };
