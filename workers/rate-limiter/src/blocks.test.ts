import { describe, expect, it } from "vitest";
import type { SubjectLimits } from "../../shared/src/contracts/limiter";
import { blockOf, Blocks, MAX_BLOCK } from "./blocks";

const limits = (l: Partial<Omit<SubjectLimits, "id">> = {}): SubjectLimits => ({
  id: "key:a",
  rpm: null,
  tpm: null,
  maxConcurrency: null,
  monthlyBudgetMicros: null,
  ...l,
});

describe("reservation blocks", () => {
  it("a block is 1/16 of each limit (the smaller of rpm and concurrency for requests), at least 1, capped", () => {
    expect(blockOf(limits({ rpm: 50, tpm: 5000, monthlyBudgetMicros: 10_000 }))).toEqual({ requests: 4, tokens: 313, micros: 625 });
    expect(blockOf(limits({ rpm: 1000, maxConcurrency: 8 }))).toEqual({ requests: 1, tokens: MAX_BLOCK.tokens, micros: MAX_BLOCK.micros });
    expect(blockOf(limits({ rpm: 1_000_000_000 }))).toEqual(MAX_BLOCK);
    expect(blockOf(limits())).toEqual(MAX_BLOCK);
  });

  it("asks for a durable write once per block, and a restart counts at most one block as used", () => {
    const b = new Blocks();
    const l = [limits({ rpm: 64 })]; // blocks of 4 requests
    const raised = Array.from({ length: 10 }, () => b.admitted(l, 10, 0));
    expect(raised).toEqual([true, false, false, false, false, true, false, false, false, false]);
    // Flushed after the 6th admission (its raise), then 4 more answered from memory.
    const restarted = new Blocks();
    const gaps = restarted.restore([{ subject: "key:a", claimed: { requests: 10, tokens: 100, micros: 0 }, flushed: { requests: 6, tokens: 60, micros: 0 } }]);
    expect(gaps).toEqual([{ subject: "key:a", gap: { requests: 4, tokens: 40, micros: 0 } }]);
  });

  it("a batch gives back the unused claim of a subject admitted nothing since the previous batch", () => {
    const b = new Blocks();
    const l = [limits({ rpm: 64 })];
    b.admitted(l, 10, 5);
    expect(b.takeRows()).toEqual({
      rows: [
        {
          subject: "key:a",
          claimed: { requests: 5, tokens: 10 + MAX_BLOCK.tokens, micros: 5 + MAX_BLOCK.micros },
          flushed: { requests: 1, tokens: 10, micros: 5 },
        },
      ],
      active: true,
    });
    expect(b.takeRows()).toEqual({
      rows: [{ subject: "key:a", claimed: { requests: 1, tokens: 10, micros: 5 }, flushed: { requests: 1, tokens: 10, micros: 5 } }],
      active: false,
    });
    expect(b.takeRows()).toEqual({ rows: [], active: false });
    // The next admission raises again.
    expect(b.admitted(l, 10, 5)).toBe(true);
  });
});
