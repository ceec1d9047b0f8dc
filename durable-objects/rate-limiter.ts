import { DurableObject } from "cloudflare:workers";
import type { z } from "zod";
import {
  AcquireRequestSchema,
  SettleRequestSchema,
  SubjectIdSchema,
  type AcquireResult,
  type SettleResult,
} from "../workers/shared/src/contracts/limiter";
import { Ledger } from "../workers/rate-limiter/src/ledger";
import { SqlLedgerStore } from "../workers/rate-limiter/src/sql-store";

/**
 * Exact limits and budgets for the subjects of one object: `key:<id>` (a key whose tenant has no
 * limits) or `tenant:<id>` (the tenant and all of its keys, so both levels are checked and reserved
 * in one atomic call). The algorithm is in workers/rate-limiter/src/ledger.ts (sliding window log,
 * 1 ms precision); this class adds the clock, input validation and persistence.
 *
 * Persistence: the state lives in memory and every change is written to the object's SQLite
 * storage synchronously inside the same call (no await between read and write). The output gate
 * releases the reply only once the write is durable, so a crash or eviction after a reply never
 * loses an admission; on start the object rebuilds its counters from the stored leases.
 */
export class RateLimiter extends DurableObject<RateLimiterEnv> {
  private readonly ledger: Ledger;

  constructor(ctx: DurableObjectState, env: RateLimiterEnv) {
    super(ctx, env);
    const store = new SqlLedgerStore(ctx.storage.sql);
    this.ledger = new Ledger(store);
    this.ledger.restore(store.loadLeases(), store.loadSpend(), Date.now());
  }

  /** Liveness probe for /health: answers from inside the object without touching its counters. */
  async ping(): Promise<"pong"> {
    return "pong";
  }

  /** Reserves a request slot, a concurrency slot, tokens and worst-case cost — all or nothing. */
  async acquire(input: unknown): Promise<AcquireResult> {
    const parsed = AcquireRequestSchema.safeParse(input);
    if (!parsed.success) return { ok: false, invalid: describe(parsed.error) };
    return this.ledger.acquire(parsed.data, Date.now());
  }

  /** Replaces a lease's reservation with the actual usage and frees its concurrency slot. */
  async settle(input: unknown): Promise<SettleResult> {
    const parsed = SettleRequestSchema.safeParse(input);
    if (!parsed.success) return { ok: false, message: describe(parsed.error) };
    return { ok: true, known: this.ledger.settle(parsed.data, Date.now()) };
  }

  /** A subject's current counters (requests/tokens in the window, in flight, month spend). */
  async snapshot(subject: string) {
    return this.ledger.snapshot(SubjectIdSchema.parse(subject), Date.now());
  }
}

function describe(error: z.ZodError): string {
  const issue = error.issues[0];
  return issue ? `${issue.path.join(".") || "(root)"}: ${issue.message}` : "invalid request";
}
