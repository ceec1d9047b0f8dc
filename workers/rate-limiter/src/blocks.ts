import type { SubjectLimits } from "../../shared/src/contracts/limiter";

/**
 * Reservation blocks: how the limiter answers from memory and still never admits over a limit
 * across a restart.
 *
 * The ledger decides every request in memory. Its changes reach SQLite in batches (at most
 * `FLUSH_EVERY_MS` later), so a crash can lose the last admissions. To keep the guarantee, the
 * object durably CLAIMS, per subject, how far its cumulative admissions (requests, reserved
 * tokens, reserved micro-dollars, counted since the object started) may run ahead: `claimed`.
 * Every flush also records how far they had run when it was written: `flushed`. An admission
 * that stays within the claim is answered at once; one that would pass it raises the claim to
 * `cumulative + block` and waits for that one durable write (the next `block` admissions need
 * none).
 *
 * After a restart the gap `claimed − flushed` of every subject is what may have been admitted and
 * not persisted; the ledger counts it as used (phantom leases admitted at the restart, holding
 * their window slots for 60 s and their concurrency slots and worst-case cost until the lease TTL).
 * So a crash can never over-admit; it can under-admit by at most one block per subject (the
 * claimed part that was never used), and the lost admissions count from the restart instead of
 * from their own time.
 */
export interface Amounts {
  requests: number;
  tokens: number;
  micros: number;
}

export interface ClaimRow {
  subject: string;
  claimed: Amounts;
  flushed: Amounts;
}

/** A block is this share of the subject's smallest limit on each axis (at least 1). */
export const BLOCK_SHARE = 1 / 16;
/** The largest block on each axis, and the block of an axis without a limit. */
export const MAX_BLOCK: Amounts = { requests: 1000, tokens: 1_000_000, micros: 1_000_000 };
/** Changes older than this are persisted even if no claim is raised (the batched write). */
export const FLUSH_EVERY_MS = 1000;

/** The block a subject claims at a time: 1/16 of each limit, capped (see the README for the crash cost). */
export function blockOf(l: SubjectLimits): Amounts {
  const share = (limit: number | null, max: number) => (limit === null ? max : Math.min(max, Math.max(1, Math.ceil(limit * BLOCK_SHARE))));
  // A concurrency slot held by a phantom lease lasts the lease TTL, so the requests block also
  // respects the concurrency limit.
  const requestLimit = l.rpm === null ? l.maxConcurrency : l.maxConcurrency === null ? l.rpm : Math.min(l.rpm, l.maxConcurrency);
  return {
    requests: share(requestLimit, MAX_BLOCK.requests),
    tokens: share(l.tpm, MAX_BLOCK.tokens),
    micros: share(l.monthlyBudgetMicros, MAX_BLOCK.micros),
  };
}

const zero = (): Amounts => ({ requests: 0, tokens: 0, micros: 0 });

export class Blocks {
  readonly #cumulative = new Map<string, Amounts>();
  readonly #claimed = new Map<string, Amounts>();
  /** Subjects whose cumulative or claim changed since the last flush. */
  readonly #dirty = new Set<string>();
  /** Subjects admitted since the last flush. */
  readonly #active = new Set<string>();
  /** Subjects whose claim is ahead of their cumulative (what a crash would cost). */
  readonly #ahead = new Set<string>();

  /**
   * What a crashed predecessor may have admitted without persisting it: per subject, the gap
   * between its last durable claim and its last flush. Counting restarts from zero here (the
   * caller turns the gaps into phantom leases, written with the next flush together with the
   * zeroed rows, in one transaction).
   */
  restore(rows: ClaimRow[]): { subject: string; gap: Amounts }[] {
    const gaps = [];
    for (const r of rows) {
      const gap = {
        requests: Math.max(0, r.claimed.requests - r.flushed.requests),
        tokens: Math.max(0, r.claimed.tokens - r.flushed.tokens),
        micros: Math.max(0, r.claimed.micros - r.flushed.micros),
      };
      this.#cumulative.set(r.subject, zero());
      this.#claimed.set(r.subject, zero());
      this.#dirty.add(r.subject);
      // No request unaccounted: its tokens and cost cannot be either.
      if (gap.requests > 0) gaps.push({ subject: r.subject, gap });
    }
    return gaps;
  }

  /**
   * Counts an admission (`requests` > 1: a loan to a shard). True if it went past a subject's claim: the claim was raised (see
   * `rows`) and the admission must not be answered before the raise is durable.
   */
  admitted(subjects: readonly SubjectLimits[], tokens: number, micros: number, requests = 1): boolean {
    let raised = false;
    for (const l of subjects) {
      const cum = this.#cumulative.get(l.id) ?? zero();
      cum.requests += requests;
      cum.tokens += tokens;
      cum.micros += micros;
      this.#cumulative.set(l.id, cum);
      this.#dirty.add(l.id);
      this.#active.add(l.id);
      const claimed = this.#claimed.get(l.id);
      if (!claimed || cum.requests > claimed.requests || cum.tokens > claimed.tokens || cum.micros > claimed.micros) {
        const block = blockOf(l);
        this.#claimed.set(l.id, { requests: cum.requests + block.requests, tokens: cum.tokens + block.tokens, micros: cum.micros + block.micros });
        this.#ahead.add(l.id);
        raised = true;
      }
    }
    return raised;
  }

  /**
   * The rows to write in a flush: claim and cumulative-at-flush of every subject that changed.
   * A subject with no admission since the previous flush gives its unused claim back (claim =
   * cumulative), so an object that went quiet restarts exact; its next admission raises again.
   * `active`: some subject was admitted since the previous flush (flush again once it is quiet).
   */
  takeRows(): { rows: ClaimRow[]; active: boolean } {
    for (const subject of this.#ahead) {
      if (this.#active.has(subject)) continue;
      this.#claimed.set(subject, { ...(this.#cumulative.get(subject) ?? zero()) });
      this.#ahead.delete(subject);
      this.#dirty.add(subject);
    }
    const active = this.#active.size > 0;
    this.#active.clear();
    const rows: ClaimRow[] = [];
    for (const subject of this.#dirty) {
      rows.push({ subject, claimed: { ...(this.#claimed.get(subject) ?? zero()) }, flushed: { ...(this.#cumulative.get(subject) ?? zero()) } });
    }
    this.#dirty.clear();
    return { rows, active };
  }
}
