import type { ClaimRow } from "./blocks";
import type { LeaseEntry, LedgerStore } from "./ledger";

/** Where a batch goes: the ledger's rows plus the reservation blocks' claim rows (sql-store.ts). */
export interface BatchTarget extends LedgerStore {
  claimsWritten(rows: ClaimRow[]): void;
}

/**
 * Batched persistence for the ledger's writes. Every change is queued in memory and applied in ONE
 * SQLite transaction with the claim rows of the reservation blocks (blocks.ts):
 *  - `flushed()`: at the end of the current turn, shared by every request handled in it; the
 *    caller waits for it (a raised claim, a renewal, a hand-over — rare by design);
 *  - `later()`: within `everyMs` (a timer), for everything else: admissions inside a claimed
 *    block and settlements are answered at once and persisted in the next batch. A batch after
 *    admissions schedules one more, which gives back the claims of subjects that went quiet.
 *
 * Exactness across a crash comes from the claims, not from this batch: what a lost batch held is
 * inside a durable claim, which the restarted object counts as used. If a commit fails, the
 * waiting callers fail (the gateway answers 503) and the object restarts from what is durable
 * (`onFailure` aborts it).
 */
export class GroupCommitStore implements LedgerStore {
  /** Ordered changes (spend seeding and release, sweeps). */
  private ops: (() => void)[] = [];
  /**
   * Leases changed since the last batch, coalesced to their latest state: a lease admitted and
   * settled within one batch is one INSERT, one forgotten before it was written is nothing.
   */
  private leases = new Map<string, { op: "insert" | "update"; row: LeaseEntry } | { op: "delete" }>();
  /** Settled spend added since the last ordered op, summed per subject and month. */
  private added = new Map<string, { subject: string; month: string; micros: number }>();
  private flushing: Promise<void> | null = null;
  private timer: ReturnType<typeof setTimeout> | null = null;

  constructor(
    private readonly inner: BatchTarget,
    private readonly claims: () => { rows: ClaimRow[]; active: boolean },
    private readonly transaction: (run: () => void) => void,
    private readonly onFailure: (err: unknown) => void,
    private readonly everyMs: number,
  ) {}

  leaseAdmitted(e: LeaseEntry): void {
    this.leases.set(e.id, { op: "insert", row: snapshot(e) });
  }

  leaseUpdated(e: LeaseEntry): void {
    const pending = this.leases.get(e.id);
    this.leases.set(e.id, { op: pending?.op === "insert" ? "insert" : "update", row: snapshot(e) });
  }

  leaseForgotten(id: string): void {
    if (this.leases.get(id)?.op === "insert") this.leases.delete(id);
    else this.leases.set(id, { op: "delete" });
  }

  spendAdded(subject: string, month: string, micros: number): void {
    const key = `${subject}\n${month}`;
    const sum = this.added.get(key);
    if (sum) sum.micros += micros;
    else this.added.set(key, { subject, month, micros });
  }

  spendSeeded(subject: string, month: string, micros: number): void {
    this.ordered(() => this.inner.spendSeeded(subject, month, micros));
  }

  spendReleased(subject: string, month: string): void {
    this.ordered(() => this.inner.spendReleased(subject, month));
  }

  swept(settledBefore: number, expiredBefore: number): void {
    this.ordered(() => this.inner.swept(settledBefore, expiredBefore));
  }

  /** An op whose order matters: the spend added before it is applied first. */
  private ordered(op: () => void): void {
    this.takeAdded();
    this.ops.push(op);
  }

  private takeAdded(): void {
    if (this.added.size === 0) return;
    const sums = [...this.added.values()];
    this.added.clear();
    this.ops.push(() => {
      for (const a of sums) if (a.micros !== 0) this.inner.spendAdded(a.subject, a.month, a.micros);
    });
  }

  /** Resolves once every change recorded so far is committed (at the end of this turn); rejects if the commit failed. */
  flushed(): Promise<void> {
    this.flushing ??= new Promise<void>((resolve, reject) => {
      queueMicrotask(() => {
        this.flushing = null;
        try {
          this.commit();
          resolve();
        } catch (err) {
          reject(err);
        }
      });
    });
    return this.flushing;
  }

  /** Persists what is queued within `everyMs`, without anyone waiting for it. */
  later(): void {
    this.timer ??= setTimeout(() => {
      this.timer = null;
      try {
        this.commit();
      } catch {
        // commit() already restarted the object
      }
    }, this.everyMs);
  }

  /** Writes the queued changes and the claim rows now, in one transaction. */
  commit(): void {
    this.takeAdded();
    const ops = this.ops;
    this.ops = [];
    const leases = this.leases;
    this.leases = new Map();
    const { rows: claims, active } = this.claims();
    // Once the admitted subjects are quiet, the next batch gives their unused claims back.
    if (active) this.later();
    if (ops.length === 0 && leases.size === 0 && claims.length === 0) return;
    // Requests admitted AND settled since the last batch only matter to a restart through their
    // window sums (their spend is in `spend`): one row per subject set and month carries them.
    const settled = new Map<string, LeaseEntry>();
    try {
      this.transaction(() => {
        for (const [id, l] of leases) {
          if (l.op === "insert" && l.row.state === "settled") mergeSettled(settled, l.row);
          else if (l.op === "insert") this.inner.leaseAdmitted(l.row);
          else if (l.op === "update") this.inner.leaseUpdated(l.row);
          else this.inner.leaseForgotten(id);
        }
        for (const row of settled.values()) this.inner.leaseAdmitted(row);
        for (const op of ops) op();
        if (claims.length > 0) this.inner.claimsWritten(claims);
      });
    } catch (err) {
      this.onFailure(err);
      throw err;
    }
  }
}

/**
 * Folds a lease admitted and settled within one batch into its group's row: requests, tokens and
 * cost summed, placed at the group's LATEST admission (and expiry). After a restart the group's
 * requests and tokens therefore leave the window together, up to one batch (`FLUSH_EVERY_MS`)
 * later than each did: a restart can only under-admit by it, never over-admit. The row is never
 * settled or renewed again (the leases it holds are settled), so its id is its own.
 */
function mergeSettled(groups: Map<string, LeaseEntry>, row: LeaseEntry): void {
  const key = `${row.subjects.join(" ")}\n${row.month}`;
  const g = groups.get(key);
  if (!g) {
    groups.set(key, { ...row, id: `batch-${row.id}` });
    return;
  }
  g.t = Math.max(g.t, row.t);
  g.expiresAt = Math.max(g.expiresAt, row.expiresAt);
  g.count += row.count;
  g.tokens += row.tokens;
  g.cost += row.cost;
}

function snapshot(e: LeaseEntry): LeaseEntry {
  return { ...e, subjects: [...e.subjects] };
}
