import { DurableObject } from "cloudflare:workers";
import type { z } from "zod";
import {
  AcquireRequestSchema,
  LendRequestSchema,
  LOAN_VALID_MS,
  RepayRequestSchema,
  ReleaseRequestSchema,
  RenewRequestSchema,
  SettleBatchRequestSchema,
  SettleRequestSchema,
  SubjectIdSchema,
  type AcquireResult,
  type LendResult,
  type RepayResult,
  type ReleaseResult,
  type RenewResult,
  type SettleBatchResult,
  type SettleRequest,
  type SettleResult,
} from "../workers/shared/src/contracts/limiter";
import { Blocks, FLUSH_EVERY_MS } from "../workers/rate-limiter/src/blocks";
import { Ledger } from "../workers/rate-limiter/src/ledger";
import { GroupCommitStore } from "../workers/rate-limiter/src/group-commit";
import { ShardLedger } from "../workers/rate-limiter/src/shard";
import { SqlLedgerStore } from "../workers/rate-limiter/src/sql-store";
import { TestClock, testClockAllowed, type AdvanceClockResult, type ClockState } from "../workers/shared/src/test-clock";
import { errorMessage, log } from "../workers/shared/src/log";

/** Where a moved test clock is kept, so an evicted object does not step back in time. */
const CLOCK_KEY = "test-clock";

/**
 * Exact limits and budgets for the subjects of one object: `key:<id>` (a key whose tenant has no
 * limits) or `tenant:<id>` (the tenant and all of its keys, so both levels are checked and reserved
 * in one atomic call). The algorithm is in workers/rate-limiter/src/ledger.ts (sliding window log,
 * 1 ms precision); this class adds the clock, input validation and persistence.
 *
 * Persistence: the state lives in memory; the decision is read and changed synchronously (no await
 * between reading the counters and recording the lease, so nothing can interleave). Changes reach
 * the object's SQLite storage in batches (group-commit.ts, at most `FLUSH_EVERY_MS` later), so an
 * admission is answered without waiting for a write — except when it passes its subjects' durable
 * claim (blocks.ts): then the claim is raised by one block and the reply waits for that write.
 * On start the object rebuilds its counters from the stored leases and counts every claimed but
 * unpersisted block as used, so a crash or eviction can under-admit (by at most one block per
 * subject) but never over-admit. Refused requests write nothing.
 */
export class RateLimiter extends DurableObject<RateLimiterEnv> {
  private readonly ledger: Ledger;
  private readonly store: GroupCommitStore;
  private readonly blocks = new Blocks();
  /** Set when this object serves as a shard (an acquire named a `parent`): see shard.ts. */
  private shard: ShardLedger | null = null;
  private retireTimer: ReturnType<typeof setTimeout> | null = null;
  private readonly seeding = new Map<string, Promise<void>>();
  /** `Date.now` outside the test stack; there, `advanceClock` moves it (test/system/limits-window). */
  private readonly clock: TestClock;

  constructor(ctx: DurableObjectState, env: RateLimiterEnv) {
    super(ctx, env);
    const testClock = testClockAllowed(env);
    this.clock = new TestClock(testClock, testClock ? (ctx.storage.kv.get<ClockState>(CLOCK_KEY) ?? null) : null);
    const sql = new SqlLedgerStore(ctx.storage.sql);
    this.store = new GroupCommitStore(
      sql,
      () => this.blocks.takeRows(),
      (run) => ctx.storage.transactionSync(run),
      (err) => {
        log.error("rate-limiter", "rate limiter commit failed; restarting from durable state", { op: "commit", message: errorMessage(err) });
        ctx.abort("rate limiter commit failed");
      },
      FLUSH_EVERY_MS,
    );
    this.ledger = new Ledger(this.store);
    const now = this.clock.now();
    this.ledger.restore(sql.loadLeases(), sql.loadSpend(), now);
    // What a crashed predecessor claimed and did not persist counts as used (see blocks.ts).
    const gaps = this.blocks.restore(sql.loadClaims());
    for (const { subject, gap } of gaps) this.ledger.phantom(subject, gap, now);
    if (gaps.length > 0) this.store.later();
  }

  /** Liveness probe for /health: answers from inside the object without touching its counters. */
  async ping(): Promise<"pong"> {
    return "pong";
  }

  /** Reserves a request slot, a concurrency slot, tokens and worst-case cost — all or nothing. */
  async acquire(input: unknown): Promise<AcquireResult> {
    const parsed = AcquireRequestSchema.safeParse(input);
    if (!parsed.success) return { ok: false, invalid: describe(parsed.error) };
    const { settle, ...request } = parsed.data;
    // The isolate's finished requests first: a slot they free serves this one.
    if (settle) for (const s of settle) void this.settleOne(s);
    if (request.parent) {
      const answer = await this.shardFor(request.parent).acquire(request);
      this.retireTimer ??= setTimeout(() => {
        this.retireTimer = null;
        this.shard?.retireExpired();
      }, LOAN_VALID_MS);
      return answer;
    }
    const missing = this.ledger.unseeded(request, this.clock.now());
    if (missing.length > 0) {
      try {
        await Promise.all(missing.map((m) => this.seed(m.subject, m.month, request.peer, request.principalToken)));
      } catch (err) {
        return { ok: false, unavailable: `month-to-date spend unavailable: ${err instanceof Error ? err.message : String(err)}` };
      }
    }
    // From here to the decision nothing is awaited: reading the counters and reserving is atomic.
    const decision = this.ledger.acquire(request, this.clock.now());
    if (!decision.ok) return decision;
    // Inside the subjects' claimed blocks the answer needs no write; past one, it waits for the
    // raised claim to be durable (with everything queued so far, in one commit).
    if (this.blocks.admitted(request.subjects, request.tokens, request.costMicros)) await this.store.flushed();
    else this.store.later();
    return decision;
  }

  /**
   * Lends a shard object a block of quota (see shard.ts): decided like an acquire (budget seeding
   * included), counted as `count` requests placed at the end of the loan's validity.
   */
  async lend(input: unknown): Promise<LendResult> {
    const parsed = LendRequestSchema.safeParse(input);
    if (!parsed.success) return { ok: false, invalid: describe(parsed.error) };
    const { want, ...req } = parsed.data;
    const missing = this.ledger.unseeded(req, this.clock.now());
    if (missing.length > 0) {
      try {
        await Promise.all(missing.map((m) => this.seed(m.subject, m.month, req.peer, req.principalToken)));
      } catch (err) {
        return { ok: false, unavailable: `month-to-date spend unavailable: ${err instanceof Error ? err.message : String(err)}` };
      }
    }
    const decision = this.ledger.lend(req, want, LOAN_VALID_MS, this.clock.now());
    if (!decision.ok) return decision;
    if (this.blocks.admitted(req.subjects, decision.grant.tokens ?? 0, decision.grant.micros ?? 0, decision.grant.requests)) await this.store.flushed();
    else this.store.later();
    return { ok: true, loanId: decision.leaseId, grant: decision.grant, status: decision.status };
  }

  /** A shard gives a loan back with what it used of it. */
  async repay(input: unknown): Promise<RepayResult> {
    const parsed = RepayRequestSchema.safeParse(input);
    if (!parsed.success) return { ok: false, message: describe(parsed.error) };
    const { loanId, ...used } = parsed.data;
    const known = this.ledger.settle({ leaseId: loanId, ...used }, this.clock.now());
    this.store.later();
    return { ok: true, known };
  }

  private shardFor(parent: string): ShardLedger {
    if (this.shard) return this.shard;
    // One stub: calls to the parent arrive in the order they were made (a repay before the next lend).
    const stub = this.env.RATE_LIMITER.get(this.env.RATE_LIMITER.idFromName(parent));
    this.shard = new ShardLedger(
      {
        lend: (req, want) => stub.lend({ ...req, parent: undefined, want }),
        repay: (req) => stub.repay(req),
      },
      () => this.clock.now(),
      (err) => log.error("rate-limiter", "shard could not repay a loan; the parent charges it in full", { op: "repay", message: errorMessage(err) }),
    );
    return this.shard;
  }

  /**
   * Adopts a subject's month spend when a budget is enforced for it here and it is not known (a
   * budget set mid-month, a key whose tenant just gained or lost limits). A key's counters move
   * between its own object and its tenant's: the peer hands over its exact count (settled spend
   * the usage queue has not delivered to billing yet included, and its open leases at their worst
   * case), and stops trusting its own copy, so moving back later adopts this object's count again.
   * Only a subject no object held asks billing, whose recorded total misses usage still in the
   * usage-events queue at that moment (seconds). Concurrent requests share one call.
   */
  private seed(subject: string, month: string, peer: string, principalToken: string | undefined): Promise<void> {
    const key = `${subject}|${month}`;
    let pending = this.seeding.get(key);
    if (!pending) {
      pending = (async () => {
        let micros: number | null = null;
        if (subject.startsWith("key:")) {
          const res = await this.env.RATE_LIMITER.get(this.env.RATE_LIMITER.idFromName(peer)).release({ subject, month });
          if (!res.ok) throw new Error(res.message);
          micros = res.micros;
        }
        if (micros === null) {
          // Billing answers only on the request's signed principal token (of this key or tenant).
          const res = await this.env.BILLING.monthSpend({ type: "key", token: principalToken ?? "" }, { subject, month });
          if (!res.ok) throw new Error(res.error.message);
          micros = res.value.micros;
        }
        this.ledger.seed(subject, month, micros);
        await this.store.flushed();
      })().finally(() => this.seeding.delete(key));
      this.seeding.set(key, pending);
    }
    return pending;
  }

  /** Replaces a lease's reservation with the actual usage and frees its concurrency slot. */
  async settle(input: unknown): Promise<SettleResult> {
    const parsed = SettleRequestSchema.safeParse(input);
    if (!parsed.success) return { ok: false, message: describe(parsed.error) };
    return { ok: true, known: await this.settleOne(parsed.data) };
  }

  /** Settles several leases in one call (a gateway isolate's queue no acquire carried, see `SETTLE_DELAY_MS`). */
  async settleBatch(input: unknown): Promise<SettleBatchResult> {
    const parsed = SettleBatchRequestSchema.safeParse(input);
    if (!parsed.success) return { ok: false, message: describe(parsed.error) };
    const known = await Promise.all(parsed.data.settlements.map((s) => this.settleOne(s)));
    return { ok: true, known: known.filter(Boolean).length };
  }

  /**
   * Applies a settlement at once (synchronously: an acquire that carries it decides after it);
   * the promise resolves when a shard's loan it closed is repaid. False: an unknown lease.
   */
  private settleOne(s: SettleRequest): Promise<boolean> {
    const shardSettled = this.shard?.settle(s.leaseId, s.tokens, s.costMicros) ?? null;
    if (shardSettled) return shardSettled;
    // A lost settlement only over-counts (the lease comes back open and expires at its worst case).
    const known = this.ledger.settle(s, this.clock.now());
    this.store.later();
    return Promise.resolve(known);
  }

  /** Gives up a subject's month spend (to the object that now holds a key's counters, see `seed`; or its budget was removed). */
  async release(input: unknown): Promise<ReleaseResult> {
    const parsed = ReleaseRequestSchema.safeParse(input);
    if (!parsed.success) return { ok: false, message: describe(parsed.error) };
    const micros = this.ledger.release(parsed.data.subject, parsed.data.month, this.clock.now());
    await this.store.flushed();
    return { ok: true, micros };
  }

  /** Keeps a running request's lease (a long stream) from expiring. */
  async renew(input: unknown): Promise<RenewResult> {
    const parsed = RenewRequestSchema.safeParse(input);
    if (!parsed.success) return { ok: false, message: describe(parsed.error) };
    const renewed = this.shard?.renew(parsed.data.leaseId) ?? this.ledger.renew(parsed.data.leaseId, this.clock.now());
    await this.store.flushed();
    return { ok: true, renewed };
  }

  /**
   * Test stack only (refused elsewhere, see workers/shared/src/test-clock.ts): stops this object's
   * clock and moves it forward, so a test sees a window slide or a lease expire without waiting.
   */
  async advanceClock(ms: unknown): Promise<AdvanceClockResult> {
    const result = this.clock.advance(ms);
    if (result.ok) this.ctx.storage.kv.put(CLOCK_KEY, result.state);
    return result;
  }

  /**
   * How far this object's clock has been moved (0 outside the test stack): the gateway's caches run
   * that far ahead of `Date.now` in the test stack (`GATEWAY_CLOCK_OBJECT`).
   */
  async clockOffset(): Promise<number> {
    return this.clock.offsetMs;
  }

  /** Persists every queued change now (tests; otherwise batches are written within `FLUSH_EVERY_MS`). */
  async flush(): Promise<void> {
    await this.store.flushed();
  }

  /** A subject's current counters (requests/tokens in the window, in flight, month spend). */
  async snapshot(subject: string) {
    return this.ledger.snapshot(SubjectIdSchema.parse(subject), this.clock.now());
  }
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid request";
}
