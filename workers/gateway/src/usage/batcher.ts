import type { UsageEvent } from "../../../shared/src";

/** How long the first event of a batch waits for others before the batch is sent. */
export const BATCH_WINDOW_MS = 20;
/** A Queue `sendBatch` takes at most 100 messages and 256 KB in total. */
export const MAX_BATCH = 100;
const MAX_BATCH_BYTES = 200_000;
/** Upper bound of an event's JSON without tags (ids, model names ≤ 256 chars, numbers). */
const EVENT_BYTES = 1_500;

function approxBytes(event: UsageEvent): number {
  const tags = event.tags;
  return tags && Object.keys(tags).length > 0 ? EVENT_BYTES + JSON.stringify(tags).length : EVENT_BYTES;
}

/** The longest prefix of `events` that fits one `sendBatch`. */
export function takeBatch(events: UsageEvent[]): UsageEvent[] {
  let bytes = 0;
  let n = 0;
  while (n < events.length && n < MAX_BATCH) {
    bytes += approxBytes(events[n]!);
    if (n > 0 && bytes > MAX_BATCH_BYTES) break;
    n++;
  }
  return events.splice(0, n);
}
/** An owner that has not finished after this long is presumed gone; the next event takes over. */
const STALE_OWNER_MS = 5_000;

interface QueueLike {
  sendBatch(messages: Iterable<MessageSendRequest<UsageEvent>>): Promise<unknown>;
}

/**
 * Usage events of one isolate, sent to the Queue in batches. The request whose event starts a
 * batch "owns" it: it waits BATCH_WINDOW_MS in its own `waitUntil`, then sends everything queued
 * by then (and whatever arrives while it sends) with `sendBatch`. Other requests only append, so a
 * busy isolate makes one Queue call per window instead of one per request. Only plain event
 * objects cross request boundaries, never I/O objects; the owner sends them with its own binding.
 *
 * Loss: an event lives in isolate memory for at most the window (plus the owner's send). If the
 * owner's send fails twice, each event of the batch is logged in full, so it can be replayed
 * (billing stores events idempotently by `request_id`).
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
      const batch = takeBatch(this.buffer);
      this.ownerSince = this.now();
      await send(queue, batch);
    }
  }
}

async function send(queue: QueueLike, batch: UsageEvent[]): Promise<void> {
  const messages = batch.map((body) => ({ body, contentType: "json" as const }));
  for (let attempt = 1; attempt <= 2; attempt++) {
    try {
      await queue.sendBatch(messages);
      return;
    } catch (err) {
      if (attempt === 2) {
        for (const event of batch) {
          console.error(JSON.stringify({ level: "error", requestId: event.request_id, message: "usage event not queued", error: String(err), event }));
        }
      }
    }
  }
}

/** This isolate's batcher. */
export const usageBatcher = new UsageBatcher();
