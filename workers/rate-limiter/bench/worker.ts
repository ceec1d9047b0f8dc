/**
 * The limiter micro-benchmark's Worker (see limiter-bench.mjs): one HTTP request = one gateway
 * request's worth of limiter work, so the differences between routes are what each design costs.
 *
 *   /worker          no Durable Object at all (the floor)
 *   /ping            one DO RPC that touches nothing (the price of the hop itself)
 *   /acquire-memory  acquire on the real ledger with persistence switched off (state in memory only)
 *   /acquire         acquire on the real RateLimiter: ledger + synchronous SQLite write (what ships)
 *   /acquire-settle  acquire, then settle (the full per-request work; settle runs after the
 *                    response in production, so it costs throughput, not latency)
 *   /acquire-settle-carried    acquire carrying the previous request's settlement (one call per
 *                    request: what the gateway does, workers/gateway/src/limits/settlements.ts)
 *   /acquire-settle-per-event  the same with one commit per call instead of batches and claims
 *   /acquire-settle-sharded    acquire + settle on one of 4 shard objects (round robin), which
 *                    borrow quota from the parent object (sharded limits, shard.ts)
 *
 * Every request targets one object (`tenant:bench`, as a tenant with tenant-wide limits would), so
 * throughput numbers are per object. Limits are far above the load: nothing is ever refused.
 */
import { DurableObject } from "cloudflare:workers";
import { RateLimiter } from "../../../durable-objects/rate-limiter";
import type { AcquireRequest, SettleRequest } from "../../shared/src/contracts/limiter";
import { AcquireRequestSchema, MAX_SETTLEMENTS_PER_CALL, SHARDS } from "../../shared/src/contracts/limiter";
import { Ledger, type LedgerStore } from "../src/ledger";
import { SqlLedgerStore } from "../src/sql-store";

export { RateLimiter };

const noStore: LedgerStore = {
  leaseAdmitted() {},
  leaseUpdated() {},
  leaseForgotten() {},
  spendAdded() {},
  spendSeeded() {},
  spendReleased() {},
  swept() {},
};

/** The same ledger and validation as RateLimiter, without persistence: isolates the write's cost. */
export class MemoryRateLimiter extends DurableObject {
  private readonly ledger = new Ledger(noStore);
  async acquire(input: unknown) {
    const parsed = AcquireRequestSchema.safeParse(input);
    if (!parsed.success) return { ok: false as const, invalid: "bad" };
    return this.ledger.acquire(parsed.data, Date.now());
  }
}

/**
 * The same object with one commit per request (every write applied in its own call, as the first
 * version did), to measure what group commit buys.
 */
export class PerEventRateLimiter extends DurableObject {
  private readonly ledger: Ledger;
  constructor(ctx: DurableObjectState, env: unknown) {
    super(ctx, env as never);
    const sql = new SqlLedgerStore(ctx.storage.sql);
    this.ledger = new Ledger(sql);
    this.ledger.restore(sql.loadLeases(), sql.loadSpend(), Date.now());
  }
  async acquire(input: unknown) {
    const parsed = AcquireRequestSchema.safeParse(input);
    if (!parsed.success) return { ok: false as const, invalid: "bad" };
    return this.ledger.acquire(parsed.data, Date.now());
  }
  async settle(input: { leaseId: string; tokens: number; costMicros: number }) {
    return this.ledger.settle(input, Date.now());
  }
}

interface Env {
  RATE_LIMITER: DurableObjectNamespace<RateLimiter>;
  MEMORY_LIMITER: DurableObjectNamespace<MemoryRateLimiter>;
  PER_EVENT_LIMITER: DurableObjectNamespace<PerEventRateLimiter>;
}

const BIG = 1_000_000_000;
const SHARDED: AcquireRequest = {
  subjects: [{ id: "tenant:bench-sharded", rpm: BIG, tpm: BIG * 1000, maxConcurrency: null, monthlyBudgetMicros: BIG * 1000 }],
  tokens: 80,
  costMicros: 40,
  peer: "key:bench",
  parent: "tenant:bench-sharded",
};
let nextShard = 0;
/** Settlements waiting for the next acquire (`/acquire-settle-carried`). */
const carried: SettleRequest[] = [];
const REQUEST: AcquireRequest = {
  subjects: [
    { id: "key:bench", rpm: BIG, tpm: BIG * 1000, maxConcurrency: BIG, monthlyBudgetMicros: BIG * 1000 },
    { id: "tenant:bench", rpm: BIG, tpm: BIG * 1000, maxConcurrency: BIG, monthlyBudgetMicros: BIG * 1000 },
  ],
  tokens: 80,
  costMicros: 40,
  peer: "key:bench",
};

export default {
  async fetch(req: Request, env: Env): Promise<Response> {
    const path = new URL(req.url).pathname;
    switch (path) {
      case "/worker":
        return new Response("ok");
      case "/acquire-settle-per-event": {
        const stub = env.PER_EVENT_LIMITER.get(env.PER_EVENT_LIMITER.idFromName("tenant:bench"));
        const r = await stub.acquire(REQUEST);
        if (!r.ok) return new Response("refused", { status: 429 });
        await stub.settle({ leaseId: r.leaseId, tokens: 60, costMicros: 30 });
        return new Response("ok");
      }
      case "/acquire-settle-sharded": {
        nextShard = (nextShard + 1) % SHARDS;
        const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(`tenant:bench-sharded/shard-${nextShard}`));
        const r = await stub.acquire(SHARDED);
        if (!r.ok) return new Response("refused", { status: 429 });
        await stub.settle({ leaseId: r.leaseId, tokens: 60, costMicros: 30 });
        return new Response("ok");
      }
      case "/ping": {
        await env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName("tenant:bench")).ping();
        return new Response("ok");
      }
      case "/acquire-memory": {
        const r = await env.MEMORY_LIMITER.get(env.MEMORY_LIMITER.idFromName("tenant:bench")).acquire(REQUEST);
        return new Response(r.ok ? "ok" : "refused", { status: r.ok ? 200 : 429 });
      }
      case "/acquire":
      case "/acquire-settle": {
        const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName("tenant:bench"));
        const r = await stub.acquire(REQUEST);
        if (!r.ok) return new Response("refused", { status: 429 });
        if (path === "/acquire-settle") await stub.settle({ leaseId: r.leaseId, tokens: 60, costMicros: 30 });
        return new Response("ok");
      }
      case "/acquire-settle-carried": {
        // What the gateway does: the settlements of finished requests ride on the next acquire.
        const stub = env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName("tenant:bench"));
        const settle = carried.splice(0, MAX_SETTLEMENTS_PER_CALL);
        const r = await stub.acquire(settle.length > 0 ? { ...REQUEST, settle } : REQUEST);
        if (!r.ok) return new Response("refused", { status: 429 });
        carried.push({ leaseId: r.leaseId, tokens: 60, costMicros: 30 });
        return new Response("ok");
      }
      default:
        return new Response("not found", { status: 404 });
    }
  },
};
