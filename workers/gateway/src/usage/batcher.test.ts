import { describe, expect, it, vi } from "vitest";
import { USAGE_PACK_MAX_BYTES, USAGE_PACK_MAX_EVENTS, UsagePackSchema, type PackedUsage, type UsageEvent, type UsagePack } from "../../../shared/src";
import { sampleUsageEvent } from "../../../shared/src/testing/usage-event";
import { MAX_SEND_BYTES, MAX_SEND_MESSAGES, sendGroups, UsageBatcher } from "./batcher";

const event = (id: string, tags: Record<string, string> = {}): UsageEvent => sampleUsageEvent({ request_id: id, tags });

const jsonBytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)).length;

function harness() {
  /** Every successful sendBatch call: its messages' bodies, as the Queue would store them (JSON). */
  const calls: UsagePack[][] = [];
  const waits: Promise<unknown>[] = [];
  let release!: () => void;
  let gate = new Promise<void>((r) => (release = r));
  const queue = {
    fail: 0,
    onSend: null as (() => void) | null,
    async sendBatch(messages: Iterable<MessageSendRequest<UsagePack>>) {
      const list = [...messages];
      queue.onSend?.();
      if (queue.fail > 0) {
        queue.fail--;
        throw new Error("queue down");
      }
      expect(list.every((m) => m.contentType === "json")).toBe(true);
      calls.push(list.map((m) => JSON.parse(JSON.stringify(m.body)) as UsagePack));
    },
  };
  const batcher = new UsageBatcher(20, Date.now, () => gate);
  const open = () => {
    release();
    gate = new Promise<void>((r) => (release = r));
  };
  const run = async () => {
    open();
    await Promise.all(waits);
  };
  /** request_ids per message per call. */
  const sent = () => calls.map((c) => c.map((pack) => pack.events.map((e) => e.request_id)));
  return { calls, sent, waits, queue, batcher, open, run, waitUntil: (p: Promise<unknown>) => void waits.push(p) };
}

describe("UsageBatcher", () => {
  it("sends the events of one window as one message in one call, owned by the first request", async () => {
    const h = harness();
    for (const id of ["a", "b", "c"]) h.batcher.add(h.queue, h.waitUntil, event(id));
    expect(h.waits).toHaveLength(1);
    await h.run();
    expect(h.sent()).toEqual([[["a", "b", "c"]]]);
    // The message is a valid pack, with every field of every event.
    expect(UsagePackSchema.parse(h.calls[0]![0]).events[1]).toMatchObject(event("b"));
    expect(h.batcher.pending).toBe(0);
  });

  it("opens a new batch for an event that arrives after the last one was sent", async () => {
    const h = harness();
    h.batcher.add(h.queue, h.waitUntil, event("a"));
    await h.run();
    h.batcher.add(h.queue, h.waitUntil, event("b"));
    expect(h.waits).toHaveLength(2);
    await h.run();
    expect(h.sent()).toEqual([[["a"]], [["b"]]]);
  });

  it("sends within the owner's lifetime only what it took when its window closed: an event arriving during the send opens a window of its own request", async () => {
    const h = harness();
    h.batcher.add(h.queue, h.waitUntil, event("a"));
    h.queue.onSend = () => {
      h.queue.onSend = null;
      h.batcher.add(h.queue, h.waitUntil, event("late"));
    };
    await h.run();
    expect(h.sent()).toEqual([[["a"]]]);
    expect(h.waits).toHaveLength(2);
    await h.run();
    expect(h.sent()).toEqual([[["a"]], [["late"]]]);
  });

  it("never lets one request's waitUntil carry the isolate's traffic: under steady load each window is sent by its own owner", async () => {
    const h = harness();
    // Every send brings the next request's event, as on a busy isolate; each owner must be done
    // after its own send, or the runtime cuts it off (waitUntil is bounded) with a pack in hand.
    let more = 5;
    h.queue.onSend = () => {
      if (more-- > 0) h.batcher.add(h.queue, h.waitUntil, event(`e${5 - more}`));
    };
    h.batcher.add(h.queue, h.waitUntil, event("e0"));
    const owners: Promise<unknown>[] = [];
    for (let round = 0; round < 6; round++) {
      const owner = h.waits[round]!;
      owners.push(owner);
      h.open();
      await owner; // settles after its own window's send, whatever arrives meanwhile
      expect(h.sent()).toHaveLength(round + 1);
    }
    expect(h.sent()).toEqual(["e0", "e1", "e2", "e3", "e4", "e5"].map((id) => [[id]]));
    expect(h.waits).toEqual(owners);
    expect(h.batcher.pending).toBe(0);
  });

  it("packs more events than one pack holds into several messages of the same call", async () => {
    const h = harness();
    const n = USAGE_PACK_MAX_EVENTS * 2 + 5;
    for (let i = 0; i < n; i++) h.batcher.add(h.queue, h.waitUntil, event(String(i)));
    await h.run();
    expect(h.sent().map((call) => call.map((m) => m.length))).toEqual([[USAGE_PACK_MAX_EVENTS, USAGE_PACK_MAX_EVENTS, 5]]);
    expect(h.sent().flat(2)).toEqual(Array.from({ length: n }, (_, i) => String(i)));
  });

  it("keeps every message within the pack budget and every call within the Queue's limits, each event exactly once", async () => {
    const h = harness();
    // ~20 KB per event: three fit a pack, so 40 events make 14 packs, which need several calls.
    const ids = Array.from({ length: 40 }, (_, i) => `req_${i}`);
    for (const id of ids) h.batcher.add(h.queue, h.waitUntil, event(id, { note: "ü".repeat(10_000) }));
    await h.run();
    expect(h.calls.length).toBeGreaterThan(1);
    for (const call of h.calls) {
      expect(call.length).toBeLessThanOrEqual(MAX_SEND_MESSAGES);
      expect(call.reduce((sum, pack) => sum + jsonBytes(pack), 0)).toBeLessThanOrEqual(MAX_SEND_BYTES);
      for (const pack of call) expect(jsonBytes(pack)).toBeLessThanOrEqual(USAGE_PACK_MAX_BYTES);
    }
    expect(h.sent().flat(2)).toEqual(ids);
  });

  it("sends an event too large for a pack alone, in a call of its own", async () => {
    const h = harness();
    h.batcher.add(h.queue, h.waitUntil, event("a"));
    h.batcher.add(h.queue, h.waitUntil, event("huge", { note: "x".repeat(USAGE_PACK_MAX_BYTES) }));
    h.batcher.add(h.queue, h.waitUntil, event("b"));
    await h.run();
    expect(h.sent()).toEqual([[["a"]], [["huge"]], [["b"]]]);
  });

  it("retries a failed send once", async () => {
    const h = harness();
    h.queue.fail = 1;
    h.batcher.add(h.queue, h.waitUntil, event("a"));
    await h.run();
    expect(h.sent()).toEqual([[["a"]]]);
  });

  it("logs a call that failed twice with its count of events, and each event's facts, and still sends the other calls", async () => {
    const log = vi.spyOn(console, "error").mockImplementation(() => {});
    const h = harness();
    h.queue.fail = 2;
    h.batcher.add(h.queue, h.waitUntil, event("a"));
    h.batcher.add(h.queue, h.waitUntil, event("b"));
    h.batcher.add(h.queue, h.waitUntil, event("huge", { note: "x".repeat(USAGE_PACK_MAX_BYTES) }));
    await h.run();
    expect(h.sent()).toEqual([[["huge"]]]);
    const logged = log.mock.calls.map((c) => JSON.parse(String(c[0])) as Record<string, unknown>);
    expect(logged[0]).toEqual({
      level: "error",
      service: "gateway",
      event: "usage events not queued",
      op: "usage",
      count: 2,
      detail: 1,
      message: "queue down",
    });
    expect(logged.slice(1).map((l) => l["requestId"])).toEqual(["a", "b"]);
    const b = event("b");
    expect(logged[2]).toEqual({
      level: "error",
      service: "gateway",
      event: "usage event not queued",
      op: "usage",
      requestId: "b",
      tenantId: b.tenant_id,
      keyId: b.key_id,
      model: b.model ?? b.requested_model,
      ...(b.provider ? { provider: b.provider } : {}),
      status: b.status,
      latencyMs: b.latency_ms,
      detail: `prompt_tokens=${b.prompt_tokens} completion_tokens=${b.completion_tokens} cached_tokens=${b.cached_tokens} cache_write_tokens=${b.cache_write_tokens} reasoning_tokens=${b.reasoning_tokens}`,
    });
    expect(h.batcher.pending).toBe(0);
    log.mockRestore();
  });
});

describe("sendGroups", () => {
  const packOf = (bytes: number, id = "x"): PackedUsage => ({ pack: { v: 1, events: [event(id)] }, bytes });

  it("puts at most the Queue's message limit in one call", () => {
    const groups = sendGroups(Array.from({ length: MAX_SEND_MESSAGES + 50 }, () => packOf(500)));
    expect(groups.map((g) => g.length)).toEqual([MAX_SEND_MESSAGES, 50]);
  });

  it("puts at most the byte limit in one call", () => {
    const groups = sendGroups(Array.from({ length: 7 }, () => packOf(USAGE_PACK_MAX_BYTES)));
    expect(groups.map((g) => g.length)).toEqual([3, 3, 1]);
    for (const g of groups) expect(g.reduce((s, p) => s + p.bytes, 0)).toBeLessThanOrEqual(MAX_SEND_BYTES);
  });

  it("isolates a pack over the budget", () => {
    const groups = sendGroups([packOf(10, "a"), packOf(USAGE_PACK_MAX_BYTES + 1, "big"), packOf(10, "b"), packOf(10, "c")]);
    expect(groups.map((g) => g.map((p) => p.pack.events[0]!.request_id))).toEqual([["a"], ["big"], ["b", "c"]]);
  });
});
