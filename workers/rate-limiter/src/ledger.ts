import {
  LEASE_TTL_MS,
  WINDOW_MS,
  type AcquireRequest,
  type AcquireDecision,
  type AxisStatus,
  type LimiterStatus,
  type Refusal,
  type SettleRequest,
  type SubjectLimits,
} from "../../shared/src/contracts/limiter";
import { monthOf } from "../../shared/src/pricing";

/**
 * The limiter's bookkeeping for every subject (key, tenant) one Durable Object serves. Pure and
 * synchronous: the object feeds it `now` and persists what it reports through `LedgerStore`, so the
 * algorithm is tested with a synthetic clock and the object's persistence separately.
 *
 * Algorithm — exact sliding window log (not GCRA): every admitted request is an entry
 * `(t, tokens)`; a subject's per-minute usage is the sum over entries with `t > now − 60 s`.
 *  - Precision: 1 ms. In ANY 60-second interval at most `rpm` requests and `tpm` reserved/settled
 *    tokens are admitted — no burst of 2× across a window edge (fixed windows) and no refill
 *    during a burst (token buckets/GCRA would admit a 51st request 1.2 s into a burst of rpm 50).
 *  - A slot comes back exactly 60 s after the request that used it; `retry-after` says when.
 *  - Memory: one entry per admitted request in the last minute (≤ rpm when rpm is set).
 * Tokens are reserved at acquire (estimate + completion bound) and replaced by the actual count at
 * settle while the entry is still inside the window (later it no longer counts anyway).
 * Concurrency counts open leases; spend is per calendar month (UTC): settled actual cost + the
 * worst-case cost of open leases. A refused request changes nothing.
 * Unsettled leases expire lazily `LEASE_TTL_MS` after acquire or their last renewal (a long stream
 * renews its lease while it is alive): the slot is freed and the worst-case cost is charged (we
 * cannot know what a crashed request consumed; a late settle still corrects it to the actual cost).
 *
 * A month's spend is only trusted while the subject is *seeded* here: billing's (or the peer
 * object's) spend was adopted, and every priced request of the subject since has gone through this
 * object. Anything that breaks that chain — a request without a budget (the gateway does not price
 * it), the key's counters moving to the peer object — unseeds it, so the next budgeted request
 * adopts the spend again instead of trusting a stale or partial sum (see `seed`, `release`).
 */
export interface LeaseEntry {
  id: string;
  subjects: string[];
  /** Admission time, epoch ms (non-decreasing within an object). */
  t: number;
  /** Requests it counts in the window: 1, or what a shard used of a loan (see `lend`). */
  count: number;
  tokens: number;
  /** Reserved worst-case cost while open; actual cost once settled. */
  cost: number;
  /** 'YYYY-MM' the cost belongs to (the month of admission). */
  month: string;
  expiresAt: number;
  state: LeaseState;
}
export type LeaseState = "open" | "settled" | "expired";

/** Where the ledger's changes go (the Durable Object's SQLite storage). Called synchronously. */
export interface LedgerStore {
  leaseAdmitted(e: LeaseEntry): void;
  /** The lease's row changed (settled/expired, tokens/cost replaced). */
  leaseUpdated(e: LeaseEntry): void;
  /** The lease no longer matters to any counter. */
  leaseForgotten(id: string): void;
  /** Adds to a subject's settled spend of a month. */
  spendAdded(subject: string, month: string, micros: number): void;
  /** The subject's month spend was adopted from billing or the peer object (replaces it). */
  spendSeeded(subject: string, month: string, micros: number): void;
  /** The subject's month spend is no longer trusted here (handed over, or unpriced requests). */
  spendReleased(subject: string, month: string): void;
  /** Drops rows that no longer matter: settled before `settledBefore`, expired before `expiredBefore`. */
  swept(settledBefore: number, expiredBefore: number): void;
}

/** How long an expired lease is remembered so a late settle can correct its charge. */
export const EXPIRED_MEMORY_MS = 24 * 60 * 60_000;
const SWEEP_EVERY_MS = WINDOW_MS;
/** Hint for a concurrency refusal: when a slot frees is unknown, so suggest a short wait. */
export const CONCURRENCY_RETRY_MS = 1000;

interface MonthSpend {
  spent: number;
  reserved: number;
  /** `spent` is the subject's whole spend of the month (see the class comment). */
  seeded: boolean;
}

class SubjectState {
  /** Entries admitted for this subject, oldest first; `head` is the first still inside the window. */
  private window: LeaseEntry[] = [];
  private head = 0;
  requests = 0;
  tokens = 0;
  inFlight = 0;
  readonly spend = new Map<string, MonthSpend>();

  constructor(readonly id: string) {}

  /** Drops entries that left the window (t ≤ now − 60 s) from the per-minute sums. */
  prune(now: number): void {
    const edge = now - WINDOW_MS;
    while (this.head < this.window.length && this.window[this.head]!.t <= edge) {
      const e = this.window[this.head]!;
      this.requests -= e.count;
      this.tokens -= e.tokens;
      this.head += 1;
    }
    if (this.head > 256 && this.head * 2 > this.window.length) {
      this.window = this.window.slice(this.head);
      this.head = 0;
    }
  }

  add(e: LeaseEntry, countsInWindow: boolean): void {
    if (countsInWindow) {
      this.window.push(e);
      this.requests += e.count;
      this.tokens += e.tokens;
    }
  }

  monthSpend(month: string): MonthSpend {
    let s = this.spend.get(month);
    if (!s) {
      s = { spent: 0, reserved: 0, seeded: false };
      this.spend.set(month, s);
    }
    return s;
  }

  /** Ms until `count` of the oldest requests in the window have left it. */
  untilOldestLeave(count: number, now: number): number {
    let freed = 0;
    for (let i = this.head; i < this.window.length; i++) {
      const e = this.window[i]!;
      freed += e.count;
      if (freed >= count) return Math.max(1, e.t + WINDOW_MS - now);
    }
    return 1;
  }

  /** Ms until at least `excess` tokens have left the window. */
  untilTokensLeave(excess: number, now: number): number {
    let freed = 0;
    for (let i = this.head; i < this.window.length; i++) {
      const e = this.window[i]!;
      freed += e.tokens;
      if (freed >= excess) return Math.max(1, e.t + WINDOW_MS - now);
    }
    return WINDOW_MS;
  }

  /** Ms until the window is empty again (OpenAI's "reset": back to the full limit). */
  untilEmpty(now: number, withTokens = false): number {
    for (let i = this.window.length - 1; i >= this.head; i--) {
      const e = this.window[i]!;
      if (!withTokens || e.tokens > 0) return Math.max(0, e.t + WINDOW_MS - now);
    }
    return 0;
  }
}

export class Ledger {
  private readonly subjects = new Map<string, SubjectState>();
  /** Open leases in expiry order (a renewal moves its lease to the end: it expires last). */
  private readonly open = new Map<string, LeaseEntry>();
  private readonly expired = new Map<string, LeaseEntry>();
  private lastT = 0;
  private lastSweep = 0;

  constructor(
    private readonly store: LedgerStore,
    private readonly newId: () => string = () => crypto.randomUUID(),
    private readonly leaseTtlMs: number = LEASE_TTL_MS,
  ) {}

  /** Rebuilds the state from persisted leases (any order) and settled spend, after a restart. */
  restore(leases: LeaseEntry[], spend: { subject: string; month: string; spent: number; seeded: boolean }[], now: number): void {
    for (const s of spend) {
      const m = this.subject(s.subject).monthSpend(s.month);
      m.spent += s.spent;
      m.seeded ||= s.seeded;
    }
    const sorted = [...leases].sort((a, b) => a.t - b.t);
    for (const e of sorted) {
      const inWindow = e.t > now - WINDOW_MS;
      for (const id of e.subjects) {
        const s = this.subject(id);
        s.add(e, inWindow);
        if (e.state === "open") {
          s.inFlight += 1;
          s.monthSpend(e.month).reserved += e.cost;
        }
      }
      if (e.state === "expired") this.expired.set(e.id, e);
      this.lastT = Math.max(this.lastT, e.t);
    }
    for (const e of sorted.filter((x) => x.state === "open").sort((a, b) => a.expiresAt - b.expiresAt)) this.open.set(e.id, e);
    this.lastSweep = now;
  }

  /**
   * Counts what a crashed predecessor may have admitted without persisting it (blocks.ts): as
   * `requests` open leases of the subject admitted now, the first carrying the tokens and
   * worst-case cost. They hold their window slots for a full window from now, their concurrency
   * slots until the lease TTL, after which their cost is charged as spent (nobody settles them).
   */
  phantom(subject: string, gap: { requests: number; tokens: number; micros: number }, now: number): void {
    const s = this.subject(subject);
    const t = Math.max(now, this.lastT);
    this.lastT = t;
    const month = monthOf(now);
    for (let i = 0; i < gap.requests; i++) {
      const e: LeaseEntry = {
        id: `phantom-${this.newId()}`,
        subjects: [subject],
        t,
        count: 1,
        tokens: i === 0 ? gap.tokens : 0,
        cost: i === 0 ? gap.micros : 0,
        month,
        expiresAt: t + this.leaseTtlMs,
        state: "open",
      };
      s.add(e, true);
      s.inFlight += 1;
      s.monthSpend(month).reserved += e.cost;
      this.open.set(e.id, e);
      this.store.leaseAdmitted(e);
    }
  }

  /**
   * The subjects whose budget applies this month but whose month spend is not known here: the
   * object adopts it (`seed`) before deciding — from the peer object if the key's counters were
   * there, else from billing. This makes a budget set mid-month, or a key moving between its own
   * object and its tenant's, count what was already spent.
   */
  unseeded(req: AcquireRequest, now: number): { subject: string; month: string }[] {
    const month = monthOf(now);
    return req.subjects.filter((l) => l.monthlyBudgetMicros !== null && !this.subject(l.id).monthSpend(month).seeded).map((l) => ({ subject: l.id, month }));
  }

  /**
   * Adopts a subject's month spend as known elsewhere (billing's recorded total, or the peer's
   * count). It REPLACES what this object summed while unseeded: that spend is already in the
   * adopted total (billing recorded it, or it was never this object's to count), so adding would
   * count it twice. This object's open leases stay reserved on top.
   */
  seed(subject: string, month: string, micros: number): void {
    const m = this.subject(subject).monthSpend(month);
    if (m.seeded) return;
    m.seeded = true;
    m.spent = micros;
    this.store.spendSeeded(subject, month, micros);
  }

  /**
   * Hands a subject's month over to the object that takes its counters: returns everything it
   * spent or has reserved here (open leases at their worst case — they settle here, unseen by the
   * taker, so the taker charges them in full), and stops trusting it here. Null if it was not
   * seeded here (then the taker asks billing).
   */
  release(subject: string, month: string, now: number): number | null {
    this.expireLeases(now);
    const m = this.subjects.get(subject)?.spend.get(month);
    if (!m?.seeded) return null;
    this.unseed(subject, m, month);
    return m.spent + m.reserved;
  }

  /** Extends an open lease to `now + TTL` (a long stream is alive). False if it is not open. */
  renew(leaseId: string, now: number): boolean {
    this.expireLeases(now);
    const e = this.open.get(leaseId);
    if (!e) return false;
    e.expiresAt = Math.max(e.expiresAt, now + this.leaseTtlMs);
    this.open.delete(e.id);
    this.open.set(e.id, e);
    this.store.leaseUpdated(e);
    return true;
  }

  acquire(req: AcquireRequest, now: number): AcquireDecision {
    const checked = this.checkAll(req, now);
    if (!checked.ok) return checked;
    const e = this.admit(req, checked.states, now, { at: now, count: 1, tokens: req.tokens, cost: req.costMicros });
    return { ok: true, leaseId: e.id, status: this.status(req.subjects, checked.states, now) };
  }

  /**
   * Lends a shard object (shard.ts) up to `want` of what every subject has left, as one entry:
   * `count` requests, reserved tokens and cost, placed in the window at `now + validMs` — the
   * latest time the shard may admit a request with it — so it holds its slots at least as long as
   * any request admitted with it. Refused (with the refusal `acquire` would give) unless it can
   * cover the request that asked (`req.tokens`, `req.costMicros`). `tokens`/`micros` of the grant
   * are null when no subject limits that axis. The shard repays it with what it used (`settle`).
   */
  lend(
    req: AcquireRequest,
    want: { requests: number; tokens: number; micros: number },
    validMs: number,
    now: number,
  ):
    | { ok: true; leaseId: string; grant: { requests: number; tokens: number | null; micros: number | null }; status: LimiterStatus }
    | Extract<AcquireDecision, { ok: false }> {
    const checked = this.checkAll(req, now);
    if (!checked.ok) return checked;
    const month = monthOf(now);
    let requests = Math.max(1, want.requests);
    let tokens: number | null = null;
    let micros: number | null = null;
    req.subjects.forEach((l, i) => {
      const s = checked.states[i]!;
      if (l.rpm !== null) requests = Math.min(requests, l.rpm - s.requests);
      if (l.tpm !== null) tokens = Math.min(tokens ?? Math.max(want.tokens, req.tokens), l.tpm - s.tokens);
      if (l.monthlyBudgetMicros !== null) {
        const m = s.spend.get(month) ?? { spent: 0, reserved: 0 };
        micros = Math.min(micros ?? Math.max(want.micros, req.costMicros), l.monthlyBudgetMicros - m.spent - m.reserved);
      }
    });
    const e = this.admit(req, checked.states, now, { at: now + validMs, count: requests, tokens: tokens ?? 0, cost: micros ?? 0 });
    return { ok: true, leaseId: e.id, grant: { requests, tokens, micros }, status: this.status(req.subjects, checked.states, now) };
  }

  private checkAll(req: AcquireRequest, now: number): { ok: true; states: SubjectState[] } | Extract<AcquireDecision, { ok: false }> {
    this.expireLeases(now);
    const states = req.subjects.map((l) => {
      const s = this.subject(l.id);
      s.prune(now);
      return s;
    });
    const month = monthOf(now);
    const refusals: Refusal[] = [];
    req.subjects.forEach((limits, i) => {
      const r = this.check(limits, states[i]!, req, month, now);
      if (r) refusals.push(r);
    });
    if (refusals.length > 0) return { ok: false, refusal: decisive(refusals), status: this.status(req.subjects, states, now) };
    return { ok: true, states };
  }

  private admit(req: AcquireRequest, states: SubjectState[], now: number, r: { at: number; count: number; tokens: number; cost: number }): LeaseEntry {
    const month = monthOf(now);
    const t = Math.max(r.at, this.lastT);
    this.lastT = t;
    const e: LeaseEntry = {
      id: this.newId(),
      subjects: req.subjects.map((l) => l.id),
      t,
      count: r.count,
      tokens: r.tokens,
      cost: r.cost,
      month,
      expiresAt: t + this.leaseTtlMs,
      state: "open",
    };
    for (const s of states) {
      s.add(e, true);
      s.inFlight += 1;
      s.monthSpend(month).reserved += e.cost;
    }
    this.open.set(e.id, e);
    this.store.leaseAdmitted(e);
    // No budget applies, so the gateway settles this request unpriced: the subjects' month spend
    // misses it from here on and must be adopted again when a budget returns.
    if (req.subjects.every((l) => l.monthlyBudgetMicros === null)) {
      for (const s of states) {
        const m = s.spend.get(month);
        if (m?.seeded) this.unseed(s.id, m, month);
      }
    }
    this.maybeSweep(now);
    return e;
  }

  /**
   * Replaces a lease's reservation with what the request really used. Returns false for a lease
   * this object does not know (settled twice, or expired longer ago than `EXPIRED_MEMORY_MS`).
   */
  settle(req: SettleRequest & { count?: number }, now: number): boolean {
    const e = this.open.get(req.leaseId) ?? this.expired.get(req.leaseId);
    if (!e) return false;
    const states = e.subjects.map((id) => {
      const s = this.subject(id);
      s.prune(now);
      return s;
    });
    const inWindow = e.t > now - WINDOW_MS;
    const tokenDelta = req.tokens - e.tokens;
    const count = req.count ?? e.count;
    for (const s of states) {
      if (inWindow) s.tokens += tokenDelta;
      if (inWindow) s.requests += count - e.count;
      const spend = s.monthSpend(e.month);
      if (e.state === "open") {
        s.inFlight -= 1;
        spend.reserved -= e.cost;
        spend.spent += req.costMicros;
      } else {
        // Expired: the worst case was already charged; correct it to the actual cost.
        spend.spent += req.costMicros - e.cost;
      }
    }
    const spendDelta = e.state === "open" ? req.costMicros : req.costMicros - e.cost;
    this.open.delete(e.id);
    this.expired.delete(e.id);
    e.tokens = req.tokens;
    e.count = count;
    e.cost = req.costMicros;
    e.state = "settled";
    for (const id of e.subjects) if (spendDelta !== 0) this.store.spendAdded(id, e.month, spendDelta);
    if (inWindow) this.store.leaseUpdated(e);
    else this.store.leaseForgotten(e.id);
    return true;
  }

  /** Frees the slots of leases past their TTL and charges their worst-case cost. */
  expireLeases(now: number): void {
    for (const e of this.open.values()) {
      if (e.expiresAt > now) break;
      this.open.delete(e.id);
      e.state = "expired";
      this.expired.set(e.id, e);
      for (const id of e.subjects) {
        const s = this.subject(id);
        s.inFlight -= 1;
        const spend = s.monthSpend(e.month);
        spend.reserved -= e.cost;
        spend.spent += e.cost;
        if (e.cost !== 0) this.store.spendAdded(id, e.month, e.cost);
      }
      this.store.leaseUpdated(e);
    }
  }

  /** A subject's counters now (for tests, dashboards and the admin API). */
  snapshot(subject: string, now: number) {
    const s = this.subject(subject);
    s.prune(now);
    const m = s.spend.get(monthOf(now)) ?? { spent: 0, reserved: 0 };
    return { requests: s.requests, tokens: s.tokens, inFlight: s.inFlight, spentMicros: m.spent, reservedMicros: m.reserved };
  }

  private check(l: SubjectLimits, s: SubjectState, req: AcquireRequest, month: string, now: number): Refusal | null {
    if (l.monthlyBudgetMicros !== null) {
      const m = s.spend.get(month) ?? { spent: 0, reserved: 0 };
      const used = m.spent + m.reserved;
      if (used + req.costMicros > l.monthlyBudgetMicros) {
        return { kind: "budget", subject: l.id, limit: l.monthlyBudgetMicros, used, requested: req.costMicros, retryAfterMs: null };
      }
    }
    if (l.tpm !== null && req.tokens > l.tpm) {
      return { kind: "tokens", subject: l.id, limit: l.tpm, used: s.tokens, requested: req.tokens, retryAfterMs: null };
    }
    if (l.rpm !== null && s.requests + 1 > l.rpm) {
      const retryAfterMs = s.untilOldestLeave(s.requests + 1 - l.rpm, now);
      return { kind: "requests", subject: l.id, limit: l.rpm, used: s.requests, requested: 1, retryAfterMs };
    }
    if (l.tpm !== null && s.tokens + req.tokens > l.tpm) {
      const retryAfterMs = s.untilTokensLeave(s.tokens + req.tokens - l.tpm, now);
      return { kind: "tokens", subject: l.id, limit: l.tpm, used: s.tokens, requested: req.tokens, retryAfterMs };
    }
    if (l.maxConcurrency !== null && s.inFlight + 1 > l.maxConcurrency) {
      return {
        kind: "concurrency",
        subject: l.id,
        limit: l.maxConcurrency,
        used: s.inFlight,
        requested: 1,
        retryAfterMs: CONCURRENCY_RETRY_MS,
      };
    }
    return null;
  }

  /** The tightest subject per axis: the one with the fewest remaining. */
  private status(limits: SubjectLimits[], states: SubjectState[], now: number): LimiterStatus {
    let requests: AxisStatus | null = null;
    let tokens: AxisStatus | null = null;
    limits.forEach((l, i) => {
      const s = states[i]!;
      if (l.rpm !== null) {
        const remaining = Math.max(0, l.rpm - s.requests);
        if (!requests || remaining < requests.remaining) {
          requests = { subject: l.id, limit: l.rpm, remaining, resetMs: s.untilEmpty(now) };
        }
      }
      if (l.tpm !== null) {
        const remaining = Math.max(0, l.tpm - s.tokens);
        if (!tokens || remaining < tokens.remaining) {
          tokens = { subject: l.id, limit: l.tpm, remaining, resetMs: s.untilEmpty(now, true) };
        }
      }
    });
    return { requests, tokens };
  }

  private maybeSweep(now: number): void {
    if (now - this.lastSweep < SWEEP_EVERY_MS) return;
    this.lastSweep = now;
    for (const [id, e] of this.expired) if (e.expiresAt <= now - EXPIRED_MEMORY_MS) this.expired.delete(id);
    this.store.swept(now - WINDOW_MS, now - EXPIRED_MEMORY_MS);
  }

  private unseed(subject: string, m: MonthSpend, month: string): void {
    m.seeded = false;
    this.store.spendReleased(subject, month);
  }

  private subject(id: string): SubjectState {
    let s = this.subjects.get(id);
    if (!s) {
      s = new SubjectState(id);
      this.subjects.set(id, s);
    }
    return s;
  }
}

/**
 * Which refusal the client hears about: an exhausted budget first (waiting does not help and the
 * SDK must not retry), then a request that can never fit, then the limit that frees up last (the
 * client has to wait that long anyway).
 */
function decisive(refusals: Refusal[]): Refusal {
  const rank = (r: Refusal) => (r.kind === "budget" ? 0 : r.retryAfterMs === null ? 1 : 2);
  return [...refusals].sort((a, b) => rank(a) - rank(b) || (b.retryAfterMs ?? 0) - (a.retryAfterMs ?? 0))[0]!;
}
