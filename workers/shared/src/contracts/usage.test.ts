import { describe, expect, it } from "vitest";
import {
  looksLikeUsagePack,
  packUsageEvents,
  USAGE_PACK_MAX_BYTES,
  USAGE_PACK_MAX_EVENTS,
  UsageEventSchema,
  UsagePackSchema,
  utf8Length,
  type UsageEvent,
} from "./usage";
import { sampleUsageEvent } from "../testing/usage-event";

const event = (id: string, tags: Record<string, string> = {}): UsageEvent => sampleUsageEvent({ request_id: id, upstream_error: false, ttfb_ms: null, tags });

const jsonBytes = (v: unknown) => new TextEncoder().encode(JSON.stringify(v)).length;
const ids = (packs: ReturnType<typeof packUsageEvents>) => packs.flatMap((p) => p.pack.events.map((e) => e.request_id));

describe("usage packs", () => {
  it("puts the events of a window in one pack that validates as the pack shape", () => {
    const events = Array.from({ length: 40 }, (_, i) => event(`req_${i}`));
    const packs = packUsageEvents(events);
    expect(packs).toHaveLength(1);
    expect(UsagePackSchema.parse(packs[0]!.pack).events.map((e) => e.request_id)).toEqual(events.map((e) => e.request_id));
    expect(packs[0]!.bytes).toBe(jsonBytes(packs[0]!.pack));
  });

  it("closes a pack at the event budget", () => {
    const events = Array.from({ length: USAGE_PACK_MAX_EVENTS * 2 + 1 }, (_, i) => event(`req_${i}`));
    const packs = packUsageEvents(events);
    expect(packs.map((p) => p.pack.events.length)).toEqual([USAGE_PACK_MAX_EVENTS, USAGE_PACK_MAX_EVENTS, 1]);
    expect(ids(packs)).toEqual(events.map((e) => e.request_id));
  });

  it("keeps every pack within the byte budget, counting multi-byte characters, and loses no event", () => {
    // ~10 KB of JSON per event (3 bytes per "€", 4 per "😀"): six fit a 64 KB pack, seven do not.
    const events = Array.from({ length: 25 }, (_, i) => event(`req_${i}`, { note: "€😀".repeat(1_370) }));
    const packs = packUsageEvents(events);
    expect(packs.length).toBeGreaterThan(1);
    for (const p of packs) {
      expect(p.bytes).toBe(jsonBytes(p.pack));
      expect(p.bytes).toBeLessThanOrEqual(USAGE_PACK_MAX_BYTES);
    }
    // Greedy: no pack could have taken the next pack's first event.
    for (let i = 0; i + 1 < packs.length; i++) {
      expect(packs[i]!.bytes + 1 + jsonBytes(packs[i + 1]!.pack.events[0])).toBeGreaterThan(USAGE_PACK_MAX_BYTES);
    }
    expect(ids(packs)).toEqual(events.map((e) => e.request_id));
  });

  it("sends an event that alone exceeds the budget in a pack of its own", () => {
    const events = [event("a"), event("huge", { note: "x".repeat(USAGE_PACK_MAX_BYTES) }), event("b")];
    const packs = packUsageEvents(events);
    expect(packs.map((p) => p.pack.events.map((e) => e.request_id))).toEqual([["a"], ["huge"], ["b"]]);
    expect(packs[1]!.bytes).toBe(jsonBytes(packs[1]!.pack));
  });

  it("makes no pack from no events", () => {
    expect(packUsageEvents([])).toEqual([]);
  });

  it("tells a pack from a single event; both shapes stay valid", () => {
    const single = event("req_single");
    expect(looksLikeUsagePack(single)).toBe(false);
    expect(UsageEventSchema.safeParse(single).success).toBe(true);
    const [packed] = packUsageEvents([single]);
    expect(looksLikeUsagePack(packed!.pack)).toBe(true);
    expect(looksLikeUsagePack({ v: 2 })).toBe(true);
    expect(looksLikeUsagePack(null)).toBe(false);
    expect(looksLikeUsagePack([single])).toBe(false);
  });

  it("rejects a pack over the event budget", () => {
    const events = Array.from({ length: USAGE_PACK_MAX_EVENTS + 1 }, (_, i) => event(`req_${i}`));
    expect(UsagePackSchema.safeParse({ v: 1, events }).success).toBe(false);
  });

  it("measures UTF-8 like the encoder does", () => {
    for (const s of ["", "ascii", "é", "€", "😀", "a€😀é\u0000\u07ff\u0800\uffff"]) {
      expect(utf8Length(s)).toBe(new TextEncoder().encode(s).length);
    }
  });
});
