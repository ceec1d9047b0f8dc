import { MAX_SETTLEMENTS_PER_CALL, SETTLE_DELAY_MS, type SettleRequest } from "../../../shared/src";

/**
 * Settlements of this isolate's finished requests, per RateLimiter object, waiting for the next
 * acquire to that object to carry them (`AcquireRequest.settle`): a limited request then costs ONE
 * call to the object instead of two, and the object applies them before it decides, so this
 * isolate's next request always sees the slots and tokens they give back.
 *
 * When no acquire comes within `SETTLE_DELAY_MS`, the queue is sent alone (one `settleBatch` call
 * for all of it). The first settlement of an empty queue schedules that send in ITS request's
 * context (the promise `add` returns is that request's `waitUntil`); settlements added meanwhile
 * ride with it and their requests finish at once. A sender whose context died (its timer never
 * fired) is replaced by the next settlement after `STALE_AFTER_MS`. If the isolate itself dies
 * with settlements queued, their leases expire after the lease TTL (their worst case charged) —
 * as when a settle call fails.
 *
 * Bounded: at most `MAX_SETTLEMENTS_PER_CALL` per object are held (a fuller queue is sent at once);
 * an object's entry is dropped when it is empty and no send is scheduled.
 */
const STALE_AFTER_MS = 1000;

interface Queue {
  items: SettleRequest[];
  /** When the scheduled send fires; null: none is scheduled. */
  sendAt: number | null;
}

export class SettlementQueue {
  readonly #queues = new Map<string, Queue>();
  readonly #delayMs: number;

  constructor(delayMs = SETTLE_DELAY_MS) {
    this.#delayMs = delayMs;
  }

  /**
   * Queues `s` for `object`. Resolves when the request that queued it may finish: at once if a
   * send is scheduled already, else once the queue was sent by `send` (or carried by an acquire).
   */
  add(object: string, s: SettleRequest, send: (batch: SettleRequest[]) => Promise<void>, now = Date.now()): Promise<void> {
    let q = this.#queues.get(object);
    if (!q) {
      q = { items: [], sendAt: null };
      this.#queues.set(object, q);
    }
    q.items.push(s);
    if (q.items.length >= MAX_SETTLEMENTS_PER_CALL) return send(this.take(object) ?? []);
    if (q.sendAt !== null && now < q.sendAt + STALE_AFTER_MS) return Promise.resolve();
    const queue = q;
    queue.sendAt = now + this.#delayMs;
    return new Promise<void>((resolve) => setTimeout(resolve, this.#delayMs)).then(() => {
      queue.sendAt = null;
      const batch = this.take(object);
      return batch ? send(batch) : undefined;
    });
  }

  /** What an acquire to `object` carries (undefined: nothing queued). */
  take(object: string): SettleRequest[] | undefined {
    const q = this.#queues.get(object);
    if (!q) return undefined;
    const items = q.items.length > 0 ? q.items.splice(0, MAX_SETTLEMENTS_PER_CALL) : undefined;
    if (q.items.length === 0 && q.sendAt === null) this.#queues.delete(object);
    return items;
  }

  /**
   * An acquire that carried `items` failed before the object answered: they go back to the queue
   * (settling is idempotent: a lease settled twice is not counted twice), to ride with the next
   * acquire or the next scheduled send.
   */
  putBack(object: string, items: SettleRequest[]): void {
    let q = this.#queues.get(object);
    if (!q) {
      q = { items: [], sendAt: null };
      this.#queues.set(object, q);
    }
    q.items.unshift(...items.slice(0, MAX_SETTLEMENTS_PER_CALL - q.items.length));
  }

  /** For tests: forget everything queued. */
  clear(): void {
    this.#queues.clear();
  }
}
