import { z } from "zod";
import { CorrelationSchema } from "./langchain";

/**
 * One usage event per request, sent by the gateway (and tail, for batch/agentic) to the
 * `usage-events` Queue after the response completes — also when the client went away mid-stream.
 * billing consumes them idempotently by `request_id` (the gateway's id, never the client's) into D1
 * and prices them. A request also yields one event per attempt the gateway abandoned after sending
 * it (the upstream bills those), with `request_id` `<request id>.attempt<n>` and tag
 * `attempt: abandoned`.
 */
export const UsageEventSchema = z.object({
  /** The gateway's own id of the request: the event's idempotency key, unique across tenants. */
  request_id: z.string(),
  /**
   * The id the client sent for its request (`x-client-request-id` / `x-request-id`), if any: kept
   * for the tenant's own correlation, never a key (many requests may carry the same one). Absent in
   * events produced before it existed.
   */
  client_request_id: z.string().max(128).nullable().default(null),
  tenant_id: z.string(),
  key_id: z.string(),
  /**
   * Which API produced the usage. Requests made through `/v1/langchain` keep their own operation
   * (chat, completions, embeddings), so every usage API classifies them alike; what marks them is
   * `correlation`. `langchain` is still accepted (events of an older producer).
   */
  operation: z.enum(["chat", "completions", "embeddings", "messages", "batch", "agentic", "langchain"]),
  /** The model name the client asked for (alias or `<provider>/<model>`). */
  requested_model: z.string(),
  /** The provider and upstream model that actually served it (null if none was reached). */
  provider: z.string().nullable(),
  model: z.string().nullable(),
  /**
   * Token counts: the one normalised record (shared/src/token-usage.ts), OpenAI's semantics —
   * `prompt_tokens` includes `cached_tokens` (cache reads) and `cache_write_tokens`;
   * `completion_tokens` includes `reasoning_tokens`; `total_tokens` = prompt + completion.
   */
  prompt_tokens: z.number().int().nonnegative(),
  completion_tokens: z.number().int().nonnegative(),
  cached_tokens: z.number().int().nonnegative(),
  /** Prompt tokens written to the provider's cache (Anthropic's premium). Absent in older events: 0. */
  cache_write_tokens: z.number().int().nonnegative().default(0),
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
  /** Free-form attribution (batch id, `usage: estimated`, `attempt: abandoned`, ...). */
  tags: z.record(z.string(), z.string()).default({}),
  /**
   * Requests made through `/v1/langchain`: their run/session/tag labels (contracts/langchain.ts),
   * parsed from the request's headers and bounded by the gateway; null for every other route.
   */
  correlation: CorrelationSchema.nullable().default(null),
  /**
   * The monthly budgets in force for the request's key and tenant when the gateway admitted it, in
   * µ$ (null: no budget): what billing measures the recorded month spend against for its budget
   * alerts (`billing.budget_threshold`). Set by the gateway from the verified principal, never by a
   * client. Absent in events of older producers: no alert is evaluated for them.
   */
  budgets: z
    .object({ key_micros: z.number().int().nonnegative().nullable(), tenant_micros: z.number().int().nonnegative().nullable() })
    .strict()
    .nullable()
    .default(null),
});
export type UsageEvent = z.input<typeof UsageEventSchema>;

/**
 * The message a producer puts on the `usage-events` Queue today: many events in one "pack".
 *
 * Why: Queues bills (and Miniflare's local queue spends its time) per message — a write, a read
 * and a delete each, one operation per 64 KB. One event per message made that three operations per
 * proxied request; a pack makes it three per pack. The single-event shape (a bare `UsageEvent`)
 * stays valid, so messages already in flight during a deploy are still consumed.
 *
 * Budget of one pack (producers must keep it; `packUsageEvents` does):
 * - at most USAGE_PACK_MAX_EVENTS events, and
 * - at most USAGE_PACK_MAX_BYTES bytes of UTF-8 JSON — under 64 KB with the ~100 bytes of
 *   metadata the Queue adds, so one pack is one billed operation per step, and far under the
 *   Queue's 128 KB message limit.
 * An event whose JSON alone exceeds the budget travels as a pack of its own (it may still fit the
 *   128 KB message limit; billed as two operations).
 *
 * `v` is the pack format's version. A consumer that meets a newer version than it knows must not
 * drop it: it retries it (it ends in the dead-letter queue, to be replayed once billing knows it).
 */
export const USAGE_PACK_VERSION = 1;
export const USAGE_PACK_MAX_BYTES = 64_000;
export const USAGE_PACK_MAX_EVENTS = 100;

export const UsagePackSchema = z.object({
  v: z.literal(USAGE_PACK_VERSION),
  events: z.array(UsageEventSchema).max(USAGE_PACK_MAX_EVENTS),
});
export type UsagePack = z.input<typeof UsagePackSchema>;

/**
 * What a consumer checks first: the envelope of a pack of any version, events not yet validated,
 * so that one bad event (which can never become valid) is skipped without losing its neighbours.
 */
export const UsagePackEnvelopeSchema = z.object({
  v: z.number().int().positive(),
  events: z.array(z.unknown()),
});

/** True if `body` claims to be a pack (rather than a single event): it has `v` or `events`. */
export function looksLikeUsagePack(body: unknown): boolean {
  return typeof body === "object" && body !== null && !Array.isArray(body) && ("v" in body || "events" in body);
}

/** A pack ready to send, with the exact byte length of its JSON. */
export interface PackedUsage {
  pack: UsagePack;
  bytes: number;
}

/** Byte length of `{"v":1,"events":[]}`; each event adds its own JSON, and a comma after the first. */
const PACK_OVERHEAD_BYTES = JSON.stringify({ v: USAGE_PACK_VERSION, events: [] }).length;

/** UTF-8 byte length of a string, without allocating the encoded bytes. */
export function utf8Length(s: string): number {
  let bytes = s.length;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c < 0x80) continue;
    if (c < 0x800) bytes += 1;
    else if (c >= 0xd800 && c <= 0xdbff && i + 1 < s.length) {
      // A surrogate pair: 2 UTF-16 units, 4 UTF-8 bytes.
      bytes += 2;
      i++;
    } else bytes += 2;
  }
  return bytes;
}

/**
 * Packs `events`, in order, into as few packs as the budget allows (greedy: a pack is closed when
 * the next event would break its byte or event budget). Every event lands in exactly one pack; an
 * event that alone exceeds `maxBytes` gets a pack of its own. `bytes` is exactly the length of
 * `JSON.stringify(pack)` in UTF-8.
 */
export function packUsageEvents(events: readonly UsageEvent[], maxBytes = USAGE_PACK_MAX_BYTES, maxEvents = USAGE_PACK_MAX_EVENTS): PackedUsage[] {
  const packs: PackedUsage[] = [];
  let current: PackedUsage | null = null;
  for (const event of events) {
    const size = utf8Length(JSON.stringify(event));
    if (current && (current.pack.events.length >= maxEvents || current.bytes + 1 + size > maxBytes)) current = null;
    if (!current) {
      current = { pack: { v: USAGE_PACK_VERSION, events: [event] }, bytes: PACK_OVERHEAD_BYTES + size };
      packs.push(current);
    } else {
      current.pack.events.push(event);
      current.bytes += 1 + size;
    }
  }
  return packs;
}
