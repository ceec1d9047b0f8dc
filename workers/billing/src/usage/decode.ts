import { looksLikeUsagePack, USAGE_PACK_VERSION, UsageEventSchema, UsagePackEnvelopeSchema } from "../../../shared/src/contracts/usage";
import type { ParsedUsageEvent } from "./record";
import { log } from "../../../shared/src/log";

/**
 * What one `usage-events` message asks of the consumer:
 * - `store`: these events (possibly none, when every event of a pack was invalid), then ack;
 * - `drop`: the message can never become valid — ack it (it was logged);
 * - `later`: a pack of a newer version than this build knows — retry it, so a billing rollback
 *   leaves it in the dead-letter queue to replay instead of dropping usage.
 */
export type DecodedUsageMessage = { action: "store"; events: ParsedUsageEvent[] } | { action: "drop" } | { action: "later"; version: number };

/**
 * Decodes a message of either shape: a pack `{ v, events }` (what producers send now) or a bare
 * event (what they sent before packs; still valid, and still in flight during a deploy).
 *
 * In a pack each event is validated on its own: an invalid one is logged (by request id and zod
 * issue paths, never the body: tags are free-form) and skipped, and the pack's valid events are
 * stored, since no retry can make the bad one valid.
 */
export function decodeUsageMessage(message: Pick<Message<unknown>, "id" | "body">): DecodedUsageMessage {
  const body = message.body;
  if (!looksLikeUsagePack(body)) {
    const result = UsageEventSchema.safeParse(body);
    if (result.success) return { action: "store", events: [result.data] };
    logRejected("usage event rejected: invalid message acked", message.id, body, result.error.issues);
    return { action: "drop" };
  }
  const envelope = UsagePackEnvelopeSchema.safeParse(body);
  if (!envelope.success) {
    logRejected("usage pack rejected: invalid message acked", message.id, null, envelope.error.issues);
    return { action: "drop" };
  }
  if (envelope.data.v > USAGE_PACK_VERSION) {
    log.error("billing", "usage pack of an unknown version: retried", { op: "usage", detail: message.id, code: `v${envelope.data.v}` });
    return { action: "later", version: envelope.data.v };
  }
  const events: ParsedUsageEvent[] = [];
  envelope.data.events.forEach((raw, index) => {
    const result = UsageEventSchema.safeParse(raw);
    if (result.success) events.push(result.data);
    else logRejected("usage event in a pack rejected: skipped", message.id, raw, result.error.issues, index);
  });
  return { action: "store", events };
}

interface IssueLike {
  path: PropertyKey[];
  message: string;
}

function logRejected(msg: string, messageId: string, event: unknown, issues: readonly IssueLike[], index?: number): void {
  const requestId = (event as { request_id?: unknown } | null)?.request_id;
  // The message id, the event's position and request id, and what was wrong (field paths and zod's words, never a value).
  log.error("billing", msg, {
    op: "usage",
    requestId: typeof requestId === "string" ? requestId : null,
    detail: `message ${messageId}${index === undefined ? "" : ` event ${index}`}`,
    message: issues
      .slice(0, 5)
      .map((i) => `${i.path.map(String).join(".") || "(root)"}: ${i.message}`)
      .join("; "),
  });
}
