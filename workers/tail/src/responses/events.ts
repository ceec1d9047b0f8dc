/**
 * A response's event log: every event of the Responses stream gets the next `sequence_number`
 * (from 0), is kept in order in memory and in its Durable Object's storage (one key per event),
 * and is handed to every reader following the run. A reader resumes with `starting_after=N` and
 * gets exactly the events after N — the log is the only source, so there is no gap and no
 * duplicate, also after the object restarted (the log is reloaded from storage).
 */
export const EVENT_KEY_PREFIX = "ev:";
const eventKey = (seq: number) => `${EVENT_KEY_PREFIX}${String(seq).padStart(8, "0")}`;

/** A comment line readers get while no event comes (a long tool call), so proxies keep the connection (tail's RESPONSES_KEEPALIVE_MS). */
export const KEEP_ALIVE_MS = 15_000;

/** The keep-alive interval from tail's `RESPONSES_KEEPALIVE_MS` (KEEP_ALIVE_MS when unset or not a positive number). */
export function keepAliveMs(env: { RESPONSES_KEEPALIVE_MS?: string }): number {
  const ms = Number(env.RESPONSES_KEEPALIVE_MS);
  return Number.isFinite(ms) && ms > 0 ? ms : KEEP_ALIVE_MS;
}

export class EventLog {
  readonly #storage: DurableObjectStorage;
  readonly #keepAliveMs: number;
  readonly #events: string[] = [];
  #wake: (() => void) | null = null;
  #ended = false;

  constructor(storage: DurableObjectStorage, keepAlive = KEEP_ALIVE_MS) {
    this.#storage = storage;
    this.#keepAliveMs = keepAlive;
  }

  async load(): Promise<void> {
    const stored = await this.#storage.list<string>({ prefix: EVENT_KEY_PREFIX });
    this.#events.length = 0;
    for (const value of stored.values()) this.#events.push(value);
  }

  get size(): number {
    return this.#events.length;
  }

  /** Appends an event (its `sequence_number` set here) and wakes the readers. Not awaited: the object's output gate commits it with the state written in the same turn. */
  append(event: { type: string } & Record<string, unknown>): void {
    const seq = this.#events.length;
    const line = `event: ${event.type}\ndata: ${JSON.stringify({ ...event, sequence_number: seq })}\n\n`;
    this.#events.push(line);
    void this.#storage.put(eventKey(seq), line);
    this.#notify();
  }

  /** No event will follow (the run reached its terminal event). */
  end(): void {
    this.#ended = true;
    this.#notify();
  }

  #notify(): void {
    const wake = this.#wake;
    this.#wake = null;
    wake?.();
  }

  #next(): Promise<void> {
    return new Promise((resolve) => {
      const previous = this.#wake;
      this.#wake = () => {
        previous?.();
        resolve();
      };
    });
  }

  /** The events after `startingAfter` (-1: all), then every later one until the run ends. */
  stream(startingAfter: number): ReadableStream<Uint8Array> {
    const encoder = new TextEncoder();
    let cursor = Math.max(0, startingAfter + 1);
    let timer: ReturnType<typeof setTimeout> | undefined;
    return new ReadableStream<Uint8Array>({
      pull: async (controller) => {
        for (;;) {
          if (cursor < this.#events.length) {
            const lines = this.#events.slice(cursor).join("");
            cursor = this.#events.length;
            controller.enqueue(encoder.encode(lines));
            return;
          }
          if (this.#ended) {
            controller.close();
            return;
          }
          const idle = new Promise<"idle">((resolve) => (timer = setTimeout(() => resolve("idle"), this.#keepAliveMs)));
          const woke = await Promise.race([this.#next().then(() => "event" as const), idle]);
          clearTimeout(timer);
          if (woke === "idle") {
            controller.enqueue(encoder.encode(": keep-alive\n\n"));
            return;
          }
        }
      },
      cancel: () => clearTimeout(timer),
    });
  }
}
