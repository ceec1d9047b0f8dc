import { describe, expect, it } from "vitest";
import { LEASE_TTL_MS, WINDOW_MS, type AcquireDecision, type AcquireRequest, type SubjectLimits } from "../../shared/src/contracts/limiter";
import { CONCURRENCY_RETRY_MS, Ledger, type LeaseEntry, type LedgerStore } from "./ledger";

/** Records every change the ledger persists, and can replay them into a fresh ledger ("restart"). */
class MemoryStore implements LedgerStore {
  leases = new Map<string, LeaseEntry>();
  spend = new Map<string, number>();
  writes = 0;
  leaseAdmitted(e: LeaseEntry) {
    this.writes++;
    this.leases.set(e.id, { ...e, subjects: [...e.subjects] });
  }
  leaseUpdated(e: LeaseEntry) {
    this.writes++;
    this.leases.set(e.id, { ...e, subjects: [...e.subjects] });
  }
  leaseForgotten(id: string) {
    this.writes++;
    this.leases.delete(id);
  }
  spendAdded(subject: string, month: string, micros: number) {
    this.writes++;
    const k = `${subject}|${month}`;
    this.spend.set(k, (this.spend.get(k) ?? 0) + micros);
  }
  seeded = new Set<string>();
  spendSeeded(subject: string, month: string, micros: number) {
    this.writes++;
    const k = `${subject}|${month}`;
    this.spend.set(k, micros);
    this.seeded.add(k);
  }
  spendReleased(subject: string, month: string) {
    this.writes++;
    this.seeded.delete(`${subject}|${month}`);
  }
  swept(settledBefore: number, expiredBefore: number) {
    for (const [id, e] of this.leases) {
      if ((e.state === "settled" && e.t <= settledBefore) || (e.state === "expired" && e.expiresAt <= expiredBefore)) this.leases.delete(id);
    }
  }
  restart(now: number): Ledger {
    const fresh = new Ledger(this);
    fresh.restore(
      [...this.leases.values()].map((e) => ({ ...e })),
      [...this.spend].map(([k, spent]) => {
        const [subject, month] = k.split("|") as [string, string];
        return { subject, month, spent, seeded: this.seeded.has(k) };
      }),
      now,
    );
    return fresh;
  }
}

const T0 = Date.UTC(2026, 10, 15, 12, 0, 0);
const KEY = "key:k1";
const TENANT = "tenant:t1";

function limits(id: string, l: Partial<Omit<SubjectLimits, "id">> = {}): SubjectLimits {
  return { id, rpm: null, tpm: null, maxConcurrency: null, monthlyBudgetMicros: null, ...l };
}

function req(subjects: SubjectLimits[], tokens = 10, costMicros = 0): AcquireRequest {
  return { subjects, tokens, costMicros, peer: TENANT };
}

function leaseOf(r: AcquireDecision): string {
  if (!r.ok) throw new Error(`refused: ${JSON.stringify(r)}`);
  return r.leaseId;
}

function refusalOf(r: AcquireDecision) {
  if (r.ok) throw new Error(`not refused: ${JSON.stringify(r)}`);
  return r.refusal;
}

describe("requests per minute (sliding window log)", () => {
  it("admits exactly rpm requests, then refuses with the time until the oldest leaves the window", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { rpm: 50 })];
    const results = Array.from({ length: 200 }, (_, i) => ledger.acquire(req(l), T0 + i));
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    const refusal = refusalOf(results[50]!);
    expect(refusal).toEqual({ kind: "requests", subject: KEY, limit: 50, used: 50, requested: 1, retryAfterMs: WINDOW_MS - 50 });
    // Headers after the 50th admission: nothing left, full reset 60 s after the newest request.
    expect(results[49]!.status.requests).toEqual({ subject: KEY, limit: 50, remaining: 0, resetMs: WINDOW_MS });
  });

  it("frees each slot exactly 60 s after the request that used it — no refill during a burst", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { rpm: 3 })];
    leaseOf(ledger.acquire(req(l), T0));
    leaseOf(ledger.acquire(req(l), T0 + 10_000));
    leaseOf(ledger.acquire(req(l), T0 + 20_000));
    expect(refusalOf(ledger.acquire(req(l), T0 + 59_999)).retryAfterMs).toBe(1);
    // At T0+60s the first request leaves the window: exactly one slot, then refused again.
    leaseOf(ledger.acquire(req(l), T0 + WINDOW_MS));
    expect(refusalOf(ledger.acquire(req(l), T0 + WINDOW_MS)).retryAfterMs).toBe(10_000);
    leaseOf(ledger.acquire(req(l), T0 + 70_000));
  });

  it("never admits more than rpm in any 60 s interval across a window edge (unlike fixed windows)", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { rpm: 10 })];
    const admittedAt: number[] = [];
    for (let t = T0; t < T0 + 5 * WINDOW_MS; t += 997) {
      for (let k = 0; k < 3; k++) if (ledger.acquire(req(l), t).ok) admittedAt.push(t);
    }
    for (const start of admittedAt) {
      expect(admittedAt.filter((t) => t >= start && t < start + WINDOW_MS).length).toBeLessThanOrEqual(10);
    }
    // …and it is not over-strict: over 5 minutes it admits 10 per minute.
    expect(admittedAt.length).toBeGreaterThanOrEqual(50);
  });

  it("reports the tightest of key and tenant limits", () => {
    const ledger = new Ledger(new MemoryStore());
    const both = [limits(KEY, { rpm: 5 }), limits(TENANT, { rpm: 3 })];
    const first = ledger.acquire(req(both), T0);
    expect(first.status.requests).toMatchObject({ subject: TENANT, limit: 3, remaining: 2 });
    leaseOf(ledger.acquire(req(both), T0));
    leaseOf(ledger.acquire(req(both), T0));
    expect(refusalOf(ledger.acquire(req(both), T0))).toMatchObject({ kind: "requests", subject: TENANT, limit: 3 });
  });

  it("a tenant limit spans its keys; a refused request consumes nothing at either level", () => {
    const ledger = new Ledger(new MemoryStore());
    const k1 = [limits("key:a", { rpm: 2 }), limits(TENANT, { rpm: 3 })];
    const k2 = [limits("key:b", { rpm: 10 }), limits(TENANT, { rpm: 3 })];
    leaseOf(ledger.acquire(req(k1), T0));
    leaseOf(ledger.acquire(req(k1), T0));
    expect(refusalOf(ledger.acquire(req(k1), T0)).subject).toBe("key:a");
    leaseOf(ledger.acquire(req(k2), T0));
    expect(refusalOf(ledger.acquire(req(k2), T0)).subject).toBe(TENANT);
    expect(ledger.snapshot("key:a", T0).requests).toBe(2);
    expect(ledger.snapshot("key:b", T0).requests).toBe(1);
    expect(ledger.snapshot(TENANT, T0).requests).toBe(3);
  });
});

describe("tokens per minute", () => {
  it("refuses up front a reservation that would exceed the TPM, and settles by actual usage", () => {
    const store = new MemoryStore();
    const ledger = new Ledger(store);
    const l = [limits(KEY, { tpm: 1000 })];
    const a = leaseOf(ledger.acquire(req(l, 600), T0));
    const refused = refusalOf(ledger.acquire(req(l, 600), T0 + 1));
    expect(refused).toEqual({ kind: "tokens", subject: KEY, limit: 1000, used: 600, requested: 600, retryAfterMs: WINDOW_MS - 1 });
    expect(ledger.snapshot(KEY, T0 + 1).tokens).toBe(600);
    // The request really used 150 tokens: the window now holds 150 and 600 more fit.
    expect(ledger.settle({ leaseId: a, tokens: 150, costMicros: 0 }, T0 + 2)).toBe(true);
    expect(ledger.snapshot(KEY, T0 + 2).tokens).toBe(150);
    const b = ledger.acquire(req(l, 600), T0 + 3);
    expect(b.status.tokens).toMatchObject({ limit: 1000, remaining: 250 });
  });

  it("a request larger than the whole TPM can never fit: refused without a retry time", () => {
    const ledger = new Ledger(new MemoryStore());
    expect(refusalOf(ledger.acquire(req([limits(KEY, { tpm: 100 })], 101), T0))).toMatchObject({ kind: "tokens", retryAfterMs: null });
  });

  it("retry-after for tokens is when enough of the oldest tokens have left", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { tpm: 1000 })];
    leaseOf(ledger.acquire(req(l, 300), T0));
    leaseOf(ledger.acquire(req(l, 300), T0 + 5_000));
    leaseOf(ledger.acquire(req(l, 300), T0 + 9_000));
    // 900 in the window; 500 more needs 400 freed: the first two entries (600) must leave.
    expect(refusalOf(ledger.acquire(req(l, 500), T0 + 10_000)).retryAfterMs).toBe(5_000 + WINDOW_MS - 10_000);
  });

  it("a settle after the window does not touch the per-minute count", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { tpm: 1000 })];
    const a = leaseOf(ledger.acquire(req(l, 900), T0));
    leaseOf(ledger.acquire(req(l, 50), T0 + WINDOW_MS));
    ledger.settle({ leaseId: a, tokens: 5000, costMicros: 0 }, T0 + WINDOW_MS + 1);
    expect(ledger.snapshot(KEY, T0 + WINDOW_MS + 1).tokens).toBe(50);
  });
});

describe("concurrency", () => {
  it("admits at most N in flight; a settle frees a slot at once", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { maxConcurrency: 4 })];
    const leases = Array.from({ length: 4 }, () => leaseOf(ledger.acquire(req(l), T0)));
    expect(refusalOf(ledger.acquire(req(l), T0))).toEqual({
      kind: "concurrency",
      subject: KEY,
      limit: 4,
      used: 4,
      requested: 1,
      retryAfterMs: CONCURRENCY_RETRY_MS,
    });
    ledger.settle({ leaseId: leases[0]!, tokens: 1, costMicros: 0 }, T0 + 5);
    leaseOf(ledger.acquire(req(l), T0 + 6));
    expect(ledger.acquire(req(l), T0 + 7).ok).toBe(false);
  });

  it("a lease never settled (crashed request) expires after its TTL and frees the slot", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { maxConcurrency: 1 })];
    leaseOf(ledger.acquire(req(l), T0));
    expect(ledger.acquire(req(l), T0 + LEASE_TTL_MS - 1).ok).toBe(false);
    leaseOf(ledger.acquire(req(l), T0 + LEASE_TTL_MS));
  });

  it("a lease renewed while its request runs keeps its slot past the TTL; once renewals stop it expires a TTL after the last", () => {
    const TTL = 1000;
    const store = new MemoryStore();
    const ledger = new Ledger(store, undefined, TTL);
    const l = [limits(KEY, { maxConcurrency: 1 })];
    const long = leaseOf(ledger.acquire(req(l), T0));
    for (let t = T0 + TTL / 2; t <= T0 + 5 * TTL; t += TTL / 2) {
      expect(ledger.renew(long, t)).toBe(true);
      expect(refusalOf(ledger.acquire(req(l), t + 1)).kind).toBe("concurrency");
    }
    // The renewal is persisted: a restart still holds the slot until a TTL after the last renewal.
    const restarted = store.restart(T0 + 5 * TTL + 1);
    expect(refusalOf(restarted.acquire(req(l), T0 + 6 * TTL - 1)).kind).toBe("concurrency");
    leaseOf(restarted.acquire(req(l), T0 + 6 * TTL));
    // Too late: an expired lease is not revived (its slot is someone else's now).
    expect(restarted.renew(long, T0 + 6 * TTL)).toBe(false);
  });

  it("expires leases in expiry order when a renewed lease is older than an unrenewed one", () => {
    const TTL = 1000;
    const ledger = new Ledger(new MemoryStore(), undefined, TTL);
    const l = [limits(KEY, { maxConcurrency: 2 })];
    const a = leaseOf(ledger.acquire(req(l), T0));
    leaseOf(ledger.acquire(req(l), T0 + 100));
    ledger.renew(a, T0 + 500);
    // The second lease expires at T0 + 1100, the renewed first one only at T0 + 1500.
    expect(ledger.snapshot(KEY, T0 + 1100).inFlight).toBe(2);
    ledger.expireLeases(T0 + 1100);
    expect(ledger.snapshot(KEY, T0 + 1100).inFlight).toBe(1);
    ledger.expireLeases(T0 + 1500);
    expect(ledger.snapshot(KEY, T0 + 1500).inFlight).toBe(0);
  });

  it("settling a lease twice is harmless and reported as unknown", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { maxConcurrency: 2 })];
    const a = leaseOf(ledger.acquire(req(l), T0));
    leaseOf(ledger.acquire(req(l), T0));
    expect(ledger.settle({ leaseId: a, tokens: 1, costMicros: 0 }, T0)).toBe(true);
    expect(ledger.settle({ leaseId: a, tokens: 1, costMicros: 0 }, T0)).toBe(false);
    expect(ledger.snapshot(KEY, T0).inFlight).toBe(1);
  });
});

describe("monthly budget", () => {
  it("reserves the worst case so parallel requests never exceed the budget; refused ones cost nothing", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { monthlyBudgetMicros: 1000 })];
    const admitted = Array.from({ length: 20 }, () => ledger.acquire(req(l, 10, 300), T0)).filter((r) => r.ok);
    expect(admitted).toHaveLength(3);
    expect(ledger.snapshot(KEY, T0)).toMatchObject({ spentMicros: 0, reservedMicros: 900 });
    // Each used less than the worst case: room for more.
    for (const r of admitted) ledger.settle({ leaseId: leaseOf(r), tokens: 10, costMicros: 120 }, T0 + 1);
    expect(ledger.snapshot(KEY, T0 + 1)).toMatchObject({ spentMicros: 360, reservedMicros: 0 });
    expect(ledger.acquire(req(l, 10, 300), T0 + 2).ok).toBe(true);
    expect(ledger.acquire(req(l, 10, 300), T0 + 2).ok).toBe(true);
    const refused = refusalOf(ledger.acquire(req(l, 10, 300), T0 + 2));
    expect(refused).toEqual({ kind: "budget", subject: KEY, limit: 1000, used: 960, requested: 300, retryAfterMs: null });
  });

  it("an exhausted budget wins over every other refusal", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { rpm: 1, monthlyBudgetMicros: 100 }), limits(TENANT, { maxConcurrency: 1 })];
    leaseOf(ledger.acquire(req(l, 10, 100), T0));
    expect(refusalOf(ledger.acquire(req(l, 10, 1), T0)).kind).toBe("budget");
  });

  it("resets with the calendar month (UTC); a lease keeps the month it was admitted in", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { monthlyBudgetMicros: 500 })];
    const endOfMonth = Date.UTC(2026, 10, 30, 23, 59, 59, 999);
    const a = leaseOf(ledger.acquire(req(l, 1, 500), endOfMonth));
    expect(ledger.acquire(req(l, 1, 1), endOfMonth).ok).toBe(false);
    const nextMonth = endOfMonth + 1;
    leaseOf(ledger.acquire(req(l, 1, 500), nextMonth));
    ledger.settle({ leaseId: a, tokens: 1, costMicros: 400 }, nextMonth + 1);
    expect(ledger.snapshot(KEY, nextMonth + 1)).toMatchObject({ spentMicros: 0, reservedMicros: 500 });
  });

  it("charges an expired lease its worst case, and a late settle corrects it to the actual cost", () => {
    const ledger = new Ledger(new MemoryStore());
    const l = [limits(KEY, { monthlyBudgetMicros: 1000 })];
    const a = leaseOf(ledger.acquire(req(l, 1, 700), T0));
    ledger.expireLeases(T0 + LEASE_TTL_MS);
    expect(ledger.snapshot(KEY, T0 + LEASE_TTL_MS)).toMatchObject({ inFlight: 0, spentMicros: 700, reservedMicros: 0 });
    expect(ledger.settle({ leaseId: a, tokens: 1, costMicros: 250 }, T0 + LEASE_TTL_MS + 1)).toBe(true);
    expect(ledger.snapshot(KEY, T0 + LEASE_TTL_MS + 1)).toMatchObject({ spentMicros: 250 });
  });
});

describe("budget seeding from billing", () => {
  it("asks for billing's month-to-date spend once per budgeted subject and month, and counts it", () => {
    const store = new MemoryStore();
    const ledger = new Ledger(store);
    const l = [limits(KEY, { monthlyBudgetMicros: 1000 }), limits(TENANT, { rpm: 10 })];
    expect(ledger.unseeded(req(l), T0)).toEqual([{ subject: KEY, month: "2026-11" }]);
    ledger.seed(KEY, "2026-11", 800);
    ledger.seed(KEY, "2026-11", 800); // a second answer is ignored
    expect(ledger.unseeded(req(l), T0)).toEqual([]);
    expect(refusalOf(ledger.acquire(req(l, 1, 201), T0))).toMatchObject({ kind: "budget", used: 800 });
    leaseOf(ledger.acquire(req(l, 1, 200), T0));
    // Persisted: a restart neither asks again nor forgets the seeded amount.
    const restarted = store.restart(T0 + 1);
    expect(restarted.unseeded(req(l), T0 + 1)).toEqual([]);
    expect(restarted.snapshot(KEY, T0 + 1)).toMatchObject({ spentMicros: 800, reservedMicros: 200 });
    // A new month is a new question.
    expect(restarted.unseeded(req(l), Date.UTC(2026, 11, 1))).toEqual([{ subject: KEY, month: "2026-12" }]);
  });
});

describe("budget given mid-month, limits toggled: the month's spend is adopted, never added twice", () => {
  it("a key whose spend this object summed under its tenant's budget adopts billing's total instead of adding it", () => {
    const ledger = new Ledger(new MemoryStore());
    const tenantOnly = [limits(KEY), limits(TENANT, { monthlyBudgetMicros: 1_000_000 })];
    ledger.seed(TENANT, "2026-11", 0);
    for (let i = 0; i < 3; i++) ledger.settle({ leaseId: leaseOf(ledger.acquire(req(tenantOnly, 1, 500), T0 + i)), tokens: 1, costMicros: 100 }, T0 + i);
    // The key is given a budget of 700 µ$; billing has recorded its 300 µ$ (the same three requests).
    const withKeyBudget = [limits(KEY, { monthlyBudgetMicros: 700 }), limits(TENANT, { monthlyBudgetMicros: 1_000_000 })];
    expect(ledger.unseeded(req(withKeyBudget), T0 + 10)).toEqual([{ subject: KEY, month: "2026-11" }]);
    ledger.seed(KEY, "2026-11", 300);
    expect(ledger.snapshot(KEY, T0 + 10)).toMatchObject({ spentMicros: 300 });
    leaseOf(ledger.acquire(req(withKeyBudget, 1, 400), T0 + 10));
  });

  it("a request without any budget unseeds its subjects: it is settled unpriced, so the next budget adopts the spend again", () => {
    const ledger = new Ledger(new MemoryStore());
    const budgeted = [limits(KEY, { rpm: 100, monthlyBudgetMicros: 1000 })];
    ledger.seed(KEY, "2026-11", 200);
    expect(ledger.unseeded(req(budgeted), T0)).toEqual([]);
    const unbudgeted = [limits(KEY, { rpm: 100 })];
    ledger.settle({ leaseId: leaseOf(ledger.acquire(req(unbudgeted, 1, 0), T0)), tokens: 1, costMicros: 0 }, T0 + 1);
    expect(ledger.unseeded(req(budgeted), T0 + 2)).toEqual([{ subject: KEY, month: "2026-11" }]);
    ledger.seed(KEY, "2026-11", 900);
    expect(refusalOf(ledger.acquire(req(budgeted, 1, 101), T0 + 2))).toMatchObject({ kind: "budget", used: 900 });
  });

  it("hands a key's month over with its open reservations, and then no longer trusts its own copy", () => {
    const store = new MemoryStore();
    const ledger = new Ledger(store);
    const l = [limits(KEY, { monthlyBudgetMicros: 1000 })];
    ledger.seed(KEY, "2026-11", 100);
    ledger.settle({ leaseId: leaseOf(ledger.acquire(req(l, 1, 300), T0)), tokens: 1, costMicros: 200 }, T0 + 1);
    leaseOf(ledger.acquire(req(l, 1, 250), T0 + 2));
    expect(ledger.release(KEY, "2026-11", T0 + 3)).toBe(100 + 200 + 250);
    expect(ledger.release(KEY, "2026-11", T0 + 3)).toBeNull();
    expect(ledger.unseeded(req(l), T0 + 3)).toEqual([{ subject: KEY, month: "2026-11" }]);
    expect(store.restart(T0 + 4).unseeded(req(l), T0 + 4)).toEqual([{ subject: KEY, month: "2026-11" }]);
    // Never held here: the taker asks billing.
    expect(ledger.release("key:other", "2026-11", T0 + 3)).toBeNull();
  });
});

describe("restart", () => {
  it("rebuilds every counter exactly from what was persisted", () => {
    const store = new MemoryStore();
    const ledger = new Ledger(store);
    const l = [limits(KEY, { rpm: 10, tpm: 10_000, maxConcurrency: 5, monthlyBudgetMicros: 10_000 }), limits(TENANT, { rpm: 20 })];
    const leases = Array.from({ length: 4 }, (_, i) => leaseOf(ledger.acquire(req(l, 1000, 2000), T0 + i)));
    ledger.settle({ leaseId: leases[0]!, tokens: 100, costMicros: 150 }, T0 + 10);
    ledger.settle({ leaseId: leases[1]!, tokens: 200, costMicros: 250 }, T0 + 11);
    const before = { key: ledger.snapshot(KEY, T0 + 20), tenant: ledger.snapshot(TENANT, T0 + 20) };
    expect(before.key).toEqual({ requests: 4, tokens: 2300, inFlight: 2, spentMicros: 400, reservedMicros: 4000 });

    const restarted = store.restart(T0 + 20);
    expect(restarted.snapshot(KEY, T0 + 20)).toEqual(before.key);
    expect(restarted.snapshot(TENANT, T0 + 20)).toEqual(before.tenant);
    // Same decisions after the restart: 6 more requests fit the key's rpm of 10 … but only 3 more in flight.
    expect([1, 2, 3, 4].map(() => restarted.acquire(req(l, 10, 10), T0 + 30).ok)).toEqual([true, true, true, false]);
    // A lease admitted before the restart can be settled after it.
    expect(restarted.settle({ leaseId: leases[2]!, tokens: 10, costMicros: 10 }, T0 + 40)).toBe(true);
    expect(restarted.snapshot(KEY, T0 + 40).inFlight).toBe(4);
  });

  it("a refused request writes nothing", () => {
    const store = new MemoryStore();
    const ledger = new Ledger(store);
    const l = [limits(KEY, { rpm: 1 })];
    leaseOf(ledger.acquire(req(l), T0));
    const writes = store.writes;
    for (let i = 0; i < 10; i++) ledger.acquire(req(l), T0 + i);
    expect(store.writes).toBe(writes);
  });

  it("sweeps settled leases once they have left the window", () => {
    const store = new MemoryStore();
    const ledger = new Ledger(store);
    const l = [limits(KEY, { rpm: 100 })];
    const a = leaseOf(ledger.acquire(req(l), T0));
    ledger.settle({ leaseId: a, tokens: 1, costMicros: 0 }, T0 + 1);
    expect(store.leases.size).toBe(1);
    leaseOf(ledger.acquire(req(l), T0 + WINDOW_MS + 1));
    expect([...store.leases.values()].map((e) => e.t)).toEqual([T0 + WINDOW_MS + 1]);
  });
});
