import { describe, expect, it } from "vitest";
import type { UsageEvent } from "../../../shared/src";
import { MAX_BATCH, takeBatch, UsageBatcher } from "./batcher";

const event = (id: string) => ({ request_id: id }) as UsageEvent;

function harness() {
  const sent: string[][] = [];
  const waits: Promise<unknown>[] = [];
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const queue = {
    fail: 0,
    async sendBatch(messages: Iterable<MessageSendRequest<UsageEvent>>) {
      if (queue.fail > 0) {
        queue.fail--;
        throw new Error("queue down");
      }
      sent.push([...messages].map((m) => m.body.request_id));
    },
  };
  const batcher = new UsageBatcher(20, Date.now, () => gate);
  const open = () => {
    release();
    gate = new Promise<void>((r) => (release = r));
  };
  return { sent, waits, queue, batcher, open, waitUntil: (p: Promise<unknown>) => void waits.push(p) };
}

describe("UsageBatcher", () => {
  it("sends the events of one window in one batch, owned by the first request", async () => {
    const h = harness();
    h.batcher.add(h.queue, h.waitUntil, event("a"));
    h.batcher.add(h.queue, h.waitUntil, event("b"));
    h.batcher.add(h.queue, h.waitUntil, event("c"));
    expect(h.waits).toHaveLength(1);
    h.open();
    await Promise.all(h.waits);
    expect(h.sent).toEqual([["a", "b", "c"]]);
    expect(h.batcher.pending).toBe(0);
  });

  it("opens a new batch for an event that arrives after the last one was sent", async () => {
    const h = harness();
    h.batcher.add(h.queue, h.waitUntil, event("a"));
    h.open();
    await Promise.all(h.waits);
    h.batcher.add(h.queue, h.waitUntil, event("b"));
    expect(h.waits).toHaveLength(2);
    h.open();
    await Promise.all(h.waits);
    expect(h.sent).toEqual([["a"], ["b"]]);
  });

  it("splits more than a Queue batch allows", async () => {
    const h = harness();
    for (let i = 0; i < MAX_BATCH + 5; i++) h.batcher.add(h.queue, h.waitUntil, event(String(i)));
    h.open();
    await Promise.all(h.waits);
    expect(h.sent.map((b) => b.length)).toEqual([MAX_BATCH, 5]);
  });

  it("retries a failed send once", async () => {
    const h = harness();
    h.queue.fail = 1;
    h.batcher.add(h.queue, h.waitUntil, event("a"));
    h.open();
    await Promise.all(h.waits);
    expect(h.sent).toEqual([["a"]]);
  });

  it("keeps a batch under the Queue's byte limit when events carry large tags", () => {
    const big = (id: string) => ({ request_id: id, tags: { note: "x".repeat(60_000) } }) as unknown as UsageEvent;
    const events = [big("a"), big("b"), big("c"), big("d")];
    expect(takeBatch(events).map((e) => e.request_id)).toEqual(["a", "b", "c"]);
    expect(events.map((e) => e.request_id)).toEqual(["d"]);
  });
});
