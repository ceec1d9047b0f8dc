import { packUsageEvents, USAGE_PACK_MAX_BYTES, type PackedUsage, type UsageEvent, type UsagePack } from "../../../shared/src";

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

/** An owner that has not finished after this long is presumed gone; the next event takes over. */
const STALE_OWNER_MS = 5_000;

interface QueueLike {
  sendBatch(messages: Iterable<MessageSendRequest<UsagePack>>): Promise<unknown>;
}

/**
 * Usage events of one isolate, sent to the Queue packed: many events per message (a `UsagePack`,
 * shared/contracts/usage.ts), because Queues bills and works per message. The request whose event
 * starts a batch "owns" it: it waits BATCH_WINDOW_MS in its own `waitUntil`, then packs everything
 * queued by then into as few messages as the pack budget allows and sends them with one `sendBatch`
 * (several only if the Queue's per-call limits demand it); whatever arrives while it sends goes in
 * the next round. Other requests only append, so a busy isolate makes one Queue call, with one
 * message, per window instead of one message per request. Only plain event objects cross request
 * boundaries, never I/O objects; the owner sends them with its own binding.
 *
 * Loss: an event lives in isolate memory for at most the window (plus the owner's send). If a
 * `sendBatch` fails twice, each event of its packs is logged in full, so it can be replayed
 * (billing stores events idempotently by `request_id`); the other calls of the round still go.
 */
export class UsageBatcher {
  private buffer: UsageEvent[] = [];
  private ownerSince: number | null = null;

  constructor(
    private readonly windowMs = BATCH_WINDOW_MS,
    private readonly now: () => number = Date.now,
    private readonly sleep: (ms: number) => Promise<void> = (ms) => new Promise((r) => setTimeout(r, ms)),
  ) {}

  /** Queues `event`; if no batch is open, opens one owned by this request (`waitUntil`). */
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
    for (;;) {
      // Checked and released synchronously, so an event added after this point opens a new batch.
      if (this.buffer.length === 0) {
        this.ownerSince = null;
        return;
      }
      const events = this.buffer;
      this.buffer = [];
      for (const group of sendGroups(packUsageEvents(events))) {
        this.ownerSince = this.now();
        await send(queue, group);
      }
    }
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
        for (const { pack } of group) {
          for (const event of pack.events) {
            console.error(JSON.stringify({ level: "error", requestId: event.request_id, message: "usage event not queued", error: String(err), event }));
          }
        }
      }
    }
  }
}

/** This isolate's batcher. */
export const usageBatcher = new UsageBatcher();
