import type { LeaseEntry, LedgerStore } from "./ledger";

/**
 * Group commit for the ledger's writes. Every change is queued in memory and applied in ONE SQLite
 * transaction at the end of the current turn (a microtask), shared by every request that was
 * handled in the same turn; each caller awaits `flushed()` before it answers.
 *
 * Why: a commit is what a durable write costs (locally an fsync, in production a replicated
 * write), and under load the object handles several requests per turn. Measured on this machine
 * (workers/rate-limiter/bench): one commit per request sustains ~400–2,700 writes/s on one object;
 * grouped, ~2,200–2,700 and without the disk-stall collapse.
 *
 * Exactness is unchanged: the decision is taken in memory at once (later requests already see
 * it), and no reply leaves before its change is committed — so a crash can only lose changes
 * whose requests never got an answer. If a commit fails, the waiting callers fail (the gateway
 * answers 503) and the object restarts from what is durable (`onFailure` aborts it).
 */
export class GroupCommitStore implements LedgerStore {
  private ops: (() => void)[] = [];
  private flushing: Promise<void> | null = null;

  constructor(
    private readonly inner: LedgerStore,
    private readonly transaction: (run: () => void) => void,
    private readonly onFailure: (err: unknown) => void,
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

  /** Resolves once every change recorded so far is committed; rejects if the commit failed. */
  flushed(): Promise<void> {
    if (this.ops.length === 0) return this.flushing ?? Promise.resolve();
    this.flushing ??= new Promise<void>((resolve, reject) => {
      queueMicrotask(() => {
        const ops = this.ops;
        this.ops = [];
        this.flushing = null;
        try {
          this.transaction(() => {
            for (const op of ops) op();
          });
          resolve();
        } catch (err) {
          reject(err);
          this.onFailure(err);
        }
      });
    });
    return this.flushing;
  }
}

function snapshot(e: LeaseEntry): LeaseEntry {
  return { ...e, subjects: [...e.subjects] };
}
