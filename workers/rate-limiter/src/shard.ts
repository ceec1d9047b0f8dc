import {
  LEASE_TTL_MS,
  LOAN_VALID_MS,
  type AcquireRequest,
  type AcquireResult,
  type AxisStatus,
  type Grant,
  type LendResult,
  type LimiterStatus,
  type RepayRequest,
  type SubjectLimits,
} from "../../shared/src/contracts/limiter";
import { BLOCK_SHARE, MAX_BLOCK } from "./blocks";

/**
 * A shard object's bookkeeping (sharded limits, see `SHARDS` in the limiter contract): it admits
 * requests only within quota borrowed from the parent object, so the parent's counts — with every
 * outstanding loan counted in full — never pass a limit, however many shards there are.
 *
 * Per set of subjects (a key and its tenant) the shard holds one current loan: up to `requests`
 * admissions, `tokens` reserved tokens and `micros` worst-case cost, usable until `LOAN_VALID_MS`
 * after it asked (the parent placed the loan in its window at that time, so every request admitted
 * with it leaves the window no later than the loan does). A request that does not fit borrows a
 * new loan (concurrent requests share one borrowing); when the parent has nothing left to lend,
 * its refusal is the answer. A settled request's unused tokens and cost go back into its loan
 * while the loan is current. A loan is repaid — what its requests used, actual where settled,
 * reserved where not — once it is no longer current and its last request settled or expired.
 *
 * In memory only: a shard that crashes loses its loans, which the parent keeps counting in full
 * (window slots for a minute, cost until the lease TTL): a crash under-admits by its open loans.
 */
interface Loan {
  id: string;
  /** The shard's clock time until which it may admit with this loan. */
  deadline: number;
  left: Grant;
  used: { count: number; tokens: number; micros: number };
  /** Requests admitted with it that are not settled yet. */
  open: number;
  current: boolean;
  /** The parent's status after the loan (the loan counted in full), for the x-ratelimit-* headers. */
  status: LimiterStatus;
}

interface ShardLease {
  loan: Loan;
  tokens: number;
  micros: number;
  expiresAt: number;
}

export interface ShardParent {
  lend(req: AcquireRequest, want: { requests: number; tokens: number; micros: number }): Promise<LendResult>;
  repay(req: RepayRequest): Promise<unknown>;
}

/**
 * How much a shard borrows at a time: 1/16 of each limit (the same share as a claim), in whole
 * multiples of the asking request's tokens and cost, so a loan leaves no unusable remainder.
 */
export function loanWant(subjects: readonly SubjectLimits[], req: { tokens: number; costMicros: number }) {
  const multiple = (n: number, unit: number) => (unit <= 0 ? n : Math.max(1, Math.ceil(n / unit)) * unit);
  const share = (limits: (number | null)[], max: number) => {
    const set = limits.filter((n): n is number => n !== null);
    return set.length === 0 ? max : Math.min(max, Math.max(1, Math.ceil(Math.min(...set) * BLOCK_SHARE)));
  };
  return {
    requests: share(
      subjects.map((s) => s.rpm),
      MAX_BLOCK.requests,
    ),
    tokens: multiple(
      share(
        subjects.map((s) => s.tpm),
        MAX_BLOCK.tokens,
      ),
      req.tokens,
    ),
    micros: multiple(
      share(
        subjects.map((s) => s.monthlyBudgetMicros),
        MAX_BLOCK.micros,
      ),
      req.costMicros,
    ),
  };
}

export class ShardLedger {
  readonly #loans = new Map<string, Loan>();
  readonly #borrowing = new Map<string, Promise<LendResult>>();
  /** Unsettled requests in expiry order. */
  readonly #leases = new Map<string, ShardLease>();
  readonly #parent: ShardParent;
  readonly #now: () => number;
  readonly #newId: () => string;
  readonly #onError: (err: unknown) => void;

  constructor(parent: ShardParent, now: () => number, onError: (err: unknown) => void, newId: () => string = () => `s-${crypto.randomUUID()}`) {
    this.#parent = parent;
    this.#now = now;
    this.#onError = onError;
    this.#newId = newId;
  }

  async acquire(req: AcquireRequest): Promise<AcquireResult> {
    const key = req.subjects.map((s) => s.id).join(" ");
    for (;;) {
      this.#expire();
      const loan = this.#loans.get(key);
      if (loan && this.#now() < loan.deadline && fits(loan.left, req)) return this.#take(key, loan, req);
      // What the loan has left goes back to the parent before the next one is asked for.
      if (loan) await this.#retire(key, loan);
      const answer = await this.#borrow(key, req);
      if (!answer.ok) return answer;
      // Concurrent requests that waited for the same loan may have used it up: loop (borrow again).
    }
  }

  /**
   * Null: not a lease of this shard. Otherwise the settlement is applied at once (a loan that is
   * still current gets the unused reservation back before this returns), and the promise resolves
   * once the loan is repaid if this was its last open request (never rejects).
   */
  settle(leaseId: string, tokens: number, micros: number): Promise<true> | null {
    this.#expire();
    const lease = this.#leases.get(leaseId);
    if (!lease) return null;
    this.#leases.delete(leaseId);
    const { loan } = lease;
    loan.used.tokens += tokens - lease.tokens;
    loan.used.micros += micros - lease.micros;
    if (loan.current) {
      if (loan.left.tokens !== null) loan.left.tokens += Math.max(0, lease.tokens - tokens);
      if (loan.left.micros !== null) loan.left.micros += Math.max(0, lease.micros - micros);
    }
    return this.#closeOne(loan).then(() => true as const);
  }

  /** Null: not a lease of this shard. */
  renew(leaseId: string): boolean | null {
    this.#expire();
    const lease = this.#leases.get(leaseId);
    if (!lease) return null;
    lease.expiresAt = Math.max(lease.expiresAt, this.#now() + LEASE_TTL_MS);
    this.#leases.delete(leaseId);
    this.#leases.set(leaseId, lease);
    return true;
  }

  /** Gives back every loan that is past its deadline (a timer calls this when traffic stops). */
  retireExpired(): void {
    const now = this.#now();
    for (const [key, loan] of this.#loans) if (now >= loan.deadline) void this.#retire(key, loan);
  }

  #take(key: string, loan: Loan, req: AcquireRequest): AcquireResult {
    loan.left.requests -= 1;
    if (loan.left.tokens !== null) loan.left.tokens -= req.tokens;
    if (loan.left.micros !== null) loan.left.micros -= req.costMicros;
    loan.used.count += 1;
    loan.used.tokens += req.tokens;
    loan.used.micros += req.costMicros;
    loan.open += 1;
    // Used up: no longer current, so it is repaid as soon as its last request settles.
    if (loan.left.requests < 1 || loan.left.tokens === 0 || loan.left.micros === 0) void this.#retire(key, loan);
    const leaseId = this.#newId();
    this.#leases.set(leaseId, { loan, tokens: req.tokens, micros: req.costMicros, expiresAt: this.#now() + LEASE_TTL_MS });
    const axis = (a: AxisStatus | null, left: number | null): AxisStatus | null => (a && left !== null ? { ...a, remaining: a.remaining + left } : a);
    return { ok: true, leaseId, status: { requests: axis(loan.status.requests, loan.left.requests), tokens: axis(loan.status.tokens, loan.left.tokens) } };
  }

  #borrow(key: string, req: AcquireRequest): Promise<LendResult> {
    let pending = this.#borrowing.get(key);
    if (!pending) {
      const asked = this.#now();
      pending = this.#parent
        .lend(req, loanWant(req.subjects, req))
        .then((answer) => {
          if (answer.ok) {
            const old = this.#loans.get(key);
            if (old) void this.#retire(key, old);
            this.#loans.set(key, {
              id: answer.loanId,
              deadline: asked + LOAN_VALID_MS,
              left: { ...answer.grant },
              used: { count: 0, tokens: 0, micros: 0 },
              open: 0,
              current: true,
              status: answer.status,
            });
          }
          return answer;
        })
        .finally(() => this.#borrowing.delete(key));
      this.#borrowing.set(key, pending);
    }
    return pending;
  }

  #retire(key: string, loan: Loan): Promise<void> {
    if (this.#loans.get(key) === loan) this.#loans.delete(key);
    if (!loan.current) return Promise.resolve();
    loan.current = false;
    return loan.open === 0 ? this.#repay(loan) : Promise.resolve();
  }

  #closeOne(loan: Loan): Promise<void> {
    loan.open -= 1;
    return !loan.current && loan.open === 0 ? this.#repay(loan) : Promise.resolve();
  }

  /** Never rejects: a loan that cannot be repaid stays counted in full at the parent (conservative). */
  #repay(loan: Loan): Promise<void> {
    return this.#parent
      .repay({ loanId: loan.id, count: loan.used.count, tokens: Math.max(0, loan.used.tokens), costMicros: Math.max(0, loan.used.micros) })
      .then(
        () => undefined,
        (err: unknown) => this.#onError(err),
      );
  }

  /** A request never settled (its gateway died): counted at its reservation, its loan can close. */
  #expire(): void {
    const now = this.#now();
    for (const [id, lease] of this.#leases) {
      if (lease.expiresAt > now) break;
      this.#leases.delete(id);
      void this.#closeOne(lease.loan);
    }
  }
}

function fits(left: Grant, req: AcquireRequest): boolean {
  return left.requests >= 1 && (left.tokens === null || left.tokens >= req.tokens) && (left.micros === null || left.micros >= req.costMicros);
}
