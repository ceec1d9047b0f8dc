import { packUsageEvents, USAGE_PACK_MAX_BYTES, type PackedUsage, type UsageEvent, type UsagePack } from "../../../shared/src";
import { errorMessage, log } from "../../../shared/src/log";

/** How long the first event of a batch waits for others before the batch is sent. */
export const BATCH_WINDOW_MS = 20;
/** A Queue `sendBatch` takes at most 100 messages… */
export const MAX_SEND_MESSAGES = 100;
/**
 * …and 256 KB in total, metadata (~100 bytes a message) included; this leaves a margin, and still
 * lets three full 64 KB packs share one call.
 */
export const MAX_SEND_BYTES = 220_000;

/**
 * Splits packs, in order, into `sendBatch` calls within the Queue's limits. A pack over the pack
 * budget (one event too large for it) goes in a call of its own: if the Queue rejects it as larger
 * than a message may be, it takes no other pack down with it.
 */
export function sendGroups(packs: readonly PackedUsage[]): PackedUsage[][] {
  const groups: PackedUsage[][] = [];
  let group: PackedUsage[] = [];
  let bytes = 0;
  for (const p of packs) {
    const alone = p.bytes > USAGE_PACK_MAX_BYTES;
    if (group.length > 0 && (alone || group.length >= MAX_SEND_MESSAGES || bytes + p.bytes > MAX_SEND_BYTES)) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
    group.push(p);
    bytes += p.bytes;
    if (alone) {
      groups.push(group);
      group = [];
      bytes = 0;
    }
  }
  if (group.length > 0) groups.push(group);
  return groups;
}

/**
 * An owner whose window has not closed after this long is presumed gone (its `waitUntil` was cut
 * short): the next event takes the buffer over. A window lasts BATCH_WINDOW_MS, so this is ample.
 */
const STALE_OWNER_MS = 1_000;

interface QueueLike {
  sendBatch(messages: Iterable<MessageSendRequest<UsagePack>>): Promise<unknown>;
}

/**
 * Usage events of one isolate, sent to the Queue packed: many events per message (a `UsagePack`,
 * shared/contracts/usage.ts), because Queues bills and works per message. The request whose event
 * opens a window "owns" it: it waits BATCH_WINDOW_MS in its own `waitUntil`, then takes everything
 * queued by then, packs it into as few messages as the pack budget allows and sends them with one
 * `sendBatch` (several only if the Queue's per-call limits demand it). Other requests only
 * append, so a busy isolate makes one Queue call, with one message, per window instead of one
 * message per request. Only plain event objects cross request boundaries, never I/O objects; the
 * owner sends them with its own binding.
 *
 * Lifetime: an owner sends only what it took when its window closed, and lets go of the buffer at
 * that moment — an event that arrives while it sends opens the next window, owned by its own
 * request. So every pack is sent within the lifetime of one request's `waitUntil` (a window and
 * one send), never by an owner that keeps looping for the whole isolate and is cut off by the
 * runtime with a pack in hand. An owner that vanishes before its window closes hands its buffer on
 * to the next event after STALE_OWNER_MS.
 *
 * Loss: if a `sendBatch` fails twice, the failure is logged with the number of events it carried,
 * and each event's ids, status, latency and token counts (the logger keeps only its own fields),
 * enough to reconcile it by hand, not to replay it; the other calls of the window still go.
 */
export class UsageBatcher {
  private buffer: UsageEvent[] = [];
  private ownerSince: number | null = null;

  constructor(
    private readonly windowMs = BATCH_WINDOW_MS,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Queues `event`; if no window is open, opens one owned by this request (`waitUntil`). */
  add(queue: QueueLike, waitUntil: (p: Promise<unknown>) => void, event: UsageEvent): void {
    this.buffer.push(event);
    if (this.ownerSince !== null && this.now() - this.ownerSince < STALE_OWNER_MS) return;
    this.ownerSince = this.now();
    waitUntil(this.flush(queue));
  }

  /** Events waiting to be sent (for tests and diagnostics). */
  get pending(): number {
    return this.buffer.length;
  }

  private async flush(queue: QueueLike): Promise<void> {
    await this.sleep(this.windowMs);
    // Taken and released synchronously: an event added from here on opens a new window.
    const events = this.buffer;
    this.buffer = [];
    this.ownerSince = null;
    for (const group of sendGroups(packUsageEvents(events))) await send(queue, group);
  }
}

async function send(queue: QueueLike, group: PackedUsage[]): Promise<void> {
  const messages = group.map(({ pack }) => ({ body: pack, contentType: "json" as const }));
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      await queue.sendBatch(messages);
      return;
    } catch (err) {
      if (attempt === 2) {
        const events = group.reduce((n, { pack }) => n + pack.events.length, 0);
        log.error("gateway", "usage events not queued", { op: "usage", count: events, detail: messages.length, message: errorMessage(err) });
        // Each lost event's facts, enough to reconcile it by hand (never more than the event holds: no prompt, no key).
        for (const { pack } of group) {
          for (const event of pack.events) {
            log.error("gateway", "usage event not queued", {
              op: "usage",
              requestId: event.request_id,
              tenantId: event.tenant_id,
              keyId: event.key_id,
              model: event.model ?? event.requested_model,
              provider: event.provider,
              status: event.status,
              latencyMs: event.latency_ms,
              detail: `prompt_tokens=${event.prompt_tokens} completion_tokens=${event.completion_tokens} cached_tokens=${event.cached_tokens} cache_write_tokens=${event.cache_write_tokens} reasoning_tokens=${event.reasoning_tokens}`,
            });
          }
        }
      }
    }
  }
}

/** This isolate's batcher. */
export const usageBatcher = new UsageBatcher();
