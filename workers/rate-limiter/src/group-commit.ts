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
  private ops: (() => void)[] = [];
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
    const row = snapshot(e);
    this.ops.push(() => this.inner.leaseAdmitted(row));
  }

  leaseUpdated(e: LeaseEntry): void {
    const row = snapshot(e);
    this.ops.push(() => this.inner.leaseUpdated(row));
  }

  leaseForgotten(id: string): void {
    this.ops.push(() => this.inner.leaseForgotten(id));
  }

  spendAdded(subject: string, month: string, micros: number): void {
    this.ops.push(() => this.inner.spendAdded(subject, month, micros));
  }

  spendSeeded(subject: string, month: string, micros: number): void {
    this.ops.push(() => this.inner.spendSeeded(subject, month, micros));
  }

  spendReleased(subject: string, month: string): void {
    this.ops.push(() => this.inner.spendReleased(subject, month));
  }

  swept(settledBefore: number, expiredBefore: number): void {
    this.ops.push(() => this.inner.swept(settledBefore, expiredBefore));
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
    const ops = this.ops;
    this.ops = [];
    const { rows: claims, active } = this.claims();
    // Once the admitted subjects are quiet, the next batch gives their unused claims back.
    if (active) this.later();
    if (ops.length === 0 && claims.length === 0) return;
    try {
      this.transaction(() => {
        for (const op of ops) op();
        if (claims.length > 0) this.inner.claimsWritten(claims);
      });
    } catch (err) {
      this.onFailure(err);
      throw err;
    }
  }
}

function snapshot(e: LeaseEntry): LeaseEntry {
  return { ...e, subjects: [...e.subjects] };
}
