import { z } from "zod";

/**
 * One usage event per request, sent by the gateway (and tail, for batch/agentic) to the
 * `usage-events` Queue after the response completes — also when the client went away mid-stream.
 * billing consumes them idempotently by `request_id` into D1 and prices them.
 */
export const UsageEventSchema = z.object({
  request_id: z.string(),
  tenant_id: z.string(),
  key_id: z.string(),
  /** Which API produced the usage. */
  operation: z.enum(["chat", "completions", "embeddings", "messages", "batch", "agentic", "langchain"]),
  /** The model name the client asked for (alias or `<provider>/<model>`). */
  requested_model: z.string(),
  /** The provider and upstream model that actually served it (null if none was reached). */
  provider: z.string().nullable(),
  model: z.string().nullable(),
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  cached_tokens: z.number().int().nonnegative(),
  reasoning_tokens: z.number().int().nonnegative(),
  total_tokens: z.number().int().nonnegative(),
  /** HTTP status the client saw (200 for a stream that started, even if it later broke). */
  status: z.number().int(),
  stream: z.boolean(),
  /** The client disconnected before the end of the stream. */
  aborted: z.boolean(),
  /** The upstream stream broke (error event sent to the client). */
  upstream_error: z.boolean().default(false),
  latency_ms: z.number().nonnegative(),
  /** Time to first byte from the upstream, for streams. */
  ttfb_ms: z.number().nonnegative().nullable().default(null),
  /** Epoch ms when the request was received. */
  started_at: z.number().int(),
  /** Free-form attribution (LangChain run/session/tags, batch id, ...). */
  tags: z.record(z.string(), z.string()).default({}),
});
export type UsageEvent = z.input<typeof UsageEventSchema>;
