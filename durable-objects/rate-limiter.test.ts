import { abortAllDurableObjects, evictDurableObject, runInDurableObject } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { LEASE_TTL_MS, type AcquireRequest, type AcquireResult, type SubjectLimits } from "../workers/shared/src/contracts/limiter";
import type { RateLimiter } from "./rate-limiter";

const env = workerEnv as unknown as RateLimiterEnv;

const stubFor = (name: string) => env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(name));

function limits(id: string, l: Partial<Omit<SubjectLimits, "id">> = {}): SubjectLimits {
  return { id, rpm: null, tpm: null, maxConcurrency: null, monthlyBudgetMicros: null, ...l };
}

/** The peer is the other object the request's key counters live in (the tenant's for a key object). */
const req = (subjects: SubjectLimits[], tokens = 100, costMicros = 50, peer = "tenant:none"): AcquireRequest => ({ subjects, tokens, costMicros, peer });

const leaseId = (r: AcquireResult) => {
  if (!r.ok) throw new Error(`refused: ${JSON.stringify(r)}`);
  return r.leaseId;
};

/** Rows persisted once the object's batch is written (it is written within FLUSH_EVERY_MS anyway). */
async function rowCount(stub: DurableObjectStub<RateLimiter>): Promise<number> {
  await stub.flush();
  return runInDurableObject(stub, (_obj, state) => state.storage.sql.exec<{ n: number }>("SELECT COUNT(*) AS n FROM leases").one().n);
}

/**
 * Two batches with no admission in between: the object's unused claims are given back (blocks.ts),
 * as they are once it has been idle for FLUSH_EVERY_MS.
 */
async function quiet(stub: DurableObjectStub<RateLimiter>): Promise<void> {
  await stub.flush();
  await stub.flush();
}

/**
 * Sends `n` acquires at once and aborts every object while they are in flight (some answered, some
 * not). Returns how many the client saw admitted, and how many answers the crash lost (the client
 * got an error: such a request may have been counted, as before reservation blocks).
 */
async function burstThenCrash(stub: DurableObjectStub<RateLimiter>, n: number, request: AcquireRequest): Promise<{ admitted: number; lost: number }> {
  const inFlight = Array.from({ length: n }, () => stub.acquire(request));
  // Let part of the burst be answered before the crash.
  await inFlight[Math.floor(n / 2)];
  await abortAllDurableObjects();
  const settled = await Promise.allSettled(inFlight);
  return {
    admitted: settled.filter((r) => r.status === "fulfilled" && r.value.ok).length,
    lost: settled.filter((r) => r.status === "rejected").length,
  };
}

describe("RateLimiter Durable Object", () => {
  it("answers ping without touching counters", async () => {
    const stub = stubFor("key:ping");
    expect(await stub.ping()).toBe("pong");
    expect(await rowCount(stub)).toBe(0);
  });

  it("refuses to move its clock outside the test stack (the deployed config's vars)", async () => {
    const stub = stubFor("key:clock");
    const l = [limits("key:clock", { rpm: 1 })];
    leaseId(await stub.acquire(req(l)));
    expect(await stub.advanceClock(60_000)).toEqual({ ok: false, message: expect.stringContaining("only be moved in the test stack") });
    // The window did not slide: the one slot is still taken.
    expect(await stub.acquire(req(l))).toMatchObject({ ok: false, refusal: { kind: "requests", used: 1 } });
  });

  it("admits exactly rpm of 200 concurrent acquires; refusals write nothing", async () => {
    const stub = stubFor("key:burst");
    const l = [limits("key:burst", { rpm: 50 })];
    const results = await Promise.all(Array.from({ length: 200 }, () => stub.acquire(req(l))));
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    const refused = results.filter((r) => !r.ok);
    expect(refused).toHaveLength(150);
    expect(refused[0]).toMatchObject({ ok: false, refusal: { kind: "requests", limit: 50, used: 50 } });
    expect(await rowCount(stub)).toBe(50);
  });

  it("keeps every count exact across an abort (crash) in the middle of the window once its batch is written", async () => {
    const name = "tenant:crash";
    const both = [limits("key:crash", { rpm: 20, tpm: 5000, maxConcurrency: 8, monthlyBudgetMicros: 10_000 }), limits(name, { rpm: 30 })];
    let stub = stubFor(name);
    const leases = [];
    for (let i = 0; i < 8; i++) leases.push(leaseId(await stub.acquire(req(both, 100, 500))));
    // 6 finished (using fewer tokens and less money than reserved), 4 more started: 6 in flight.
    for (const id of leases.slice(0, 6)) expect(await stub.settle({ leaseId: id, tokens: 40, costMicros: 200 })).toEqual({ ok: true, known: true });
    for (let i = 0; i < 4; i++) leases.push(leaseId(await stub.acquire(req(both, 100, 500))));
    const before = await stub.snapshot("key:crash");
    expect(before).toEqual({ requests: 12, tokens: 6 * 40 + 6 * 100, inFlight: 6, spentMicros: 1200, reservedMicros: 3000 });
    // The batch is written and the object is quiet: its unused claims are given back.
    await quiet(stub);
    const instanceBefore = await runInDurableObject(stub, (obj) => obj);

    await abortAllDurableObjects();
    stub = stubFor(name);

    expect(await runInDurableObject(stub, (obj) => obj === instanceBefore)).toBe(false);
    expect(await stub.snapshot("key:crash")).toEqual(before);
    expect(await stub.snapshot(name)).toMatchObject({ requests: 12, inFlight: 6 });
    // Exactly the 2 remaining concurrency slots (8 − 6) are admitted, and no more.
    const after = await Promise.all(Array.from({ length: 5 }, () => stub.acquire(req(both, 100, 500))));
    expect(after.filter((r) => r.ok)).toHaveLength(2);
    expect(after.find((r) => !r.ok)).toMatchObject({ refusal: { kind: "concurrency", subject: "key:crash", limit: 8, used: 8 } });
    // Leases admitted before the crash settle into the new instance and free their slots.
    expect(await stub.settle({ leaseId: leases[6]!, tokens: 10, costMicros: 100 })).toEqual({ ok: true, known: true });
    expect(await stub.snapshot("key:crash")).toMatchObject({ requests: 14, inFlight: 7, spentMicros: 1300 });
  });

  it("stores the requests admitted and settled within one batch as one row, and a restart still counts them", async () => {
    // rpm 160: blocks of 10 requests; the first admission raises the claim (and is written open).
    const name = "key:batch-row";
    const l = [limits(name, { rpm: 160 })];
    let stub = stubFor(name);
    for (let i = 0; i < 8; i++)
      expect(await stub.settle({ leaseId: leaseId(await stub.acquire(req(l, 100))), tokens: 40, costMicros: 0 })).toMatchObject({ known: true });
    await quiet(stub);
    // The first lease's own row (written open, then settled) and one row for the other seven.
    expect(await rowCount(stub)).toBe(2);
    await abortAllDurableObjects();
    stub = stubFor(name);
    expect(await stub.snapshot(name)).toMatchObject({ requests: 8, tokens: 8 * 40, inFlight: 0 });
    const after = await Promise.all(Array.from({ length: 200 }, () => stub.acquire(req(l))));
    expect(after.filter((r) => r.ok)).toHaveLength(160 - 8);
    expect(after.find((r) => !r.ok)).toMatchObject({ refusal: { kind: "requests", limit: 160, used: 160 } });
  });

  it("applies the settlements an acquire carries before deciding it, and settles a batch in one call", async () => {
    const name = "key:carried";
    const l = [limits(name, { maxConcurrency: 1, tpm: 1000 })];
    const stub = stubFor(name);
    const first = leaseId(await stub.acquire(req(l, 600)));
    // The one slot is taken, and 600 of 1000 tokens: refused alone, admitted with the settlement.
    expect(await stub.acquire(req(l, 600))).toMatchObject({ ok: false, refusal: { kind: "tokens" } });
    const second = await stub.acquire({ ...req(l, 600), settle: [{ leaseId: first, tokens: 100, costMicros: 10 }] });
    expect(second).toMatchObject({ ok: true, status: { tokens: { remaining: 1000 - 100 - 600 } } });
    expect(
      await stub.settleBatch({
        settlements: [
          { leaseId: leaseId(second), tokens: 50, costMicros: 5 },
          { leaseId: first, tokens: 1, costMicros: 1 },
        ],
      }),
    ).toEqual({
      ok: true,
      known: 1,
    });
    expect(await stub.snapshot(name)).toMatchObject({ requests: 2, tokens: 150, inFlight: 0, spentMicros: 15 });
    expect(await stub.settleBatch({ settlements: [] })).toMatchObject({ ok: false });
  });

  it("keeps counts exact across an eviction of a quiet object", async () => {
    const name = "key:evict";
    const l = [limits(name, { rpm: 10 })];
    const stub = stubFor(name);
    for (let i = 0; i < 7; i++) leaseId(await stub.acquire(req(l)));
    await quiet(stub);
    await evictDurableObject(stub);
    const results = await Promise.all(Array.from({ length: 10 }, () => stub.acquire(req(l))));
    expect(results.filter((r) => r.ok)).toHaveLength(3);
  });

  it("a key's month spend follows it between its own object and its tenant's, settled and in flight, never counted twice", async () => {
    // Billing (stubbed here) has recorded nothing yet: the usage queue lags behind every settle below.
    const keyObject = stubFor("key:toggle");
    const tenantObject = stubFor("tenant:toggle");
    const keyBudget = limits("key:toggle", { monthlyBudgetMicros: 1000 });
    const own = (cost: number) => req([keyBudget], 1, cost, "tenant:toggle");
    const underTenant = (cost: number) => req([keyBudget, limits("tenant:toggle", { rpm: 100 })], 1, cost, "key:toggle");

    // The key alone: 300 µ$ settled, a 100 µ$ request still running.
    expect(await keyObject.settle({ leaseId: leaseId(await keyObject.acquire(own(300))), tokens: 1, costMicros: 300 })).toEqual({ ok: true, known: true });
    const running = leaseId(await keyObject.acquire(own(100)));
    // The tenant gains limits: the key's counters move into the tenant's object with its spend.
    expect(await tenantObject.acquire(underTenant(601))).toMatchObject({ ok: false, refusal: { kind: "budget", used: 400 } });
    expect(await tenantObject.settle({ leaseId: leaseId(await tenantObject.acquire(underTenant(200))), tokens: 1, costMicros: 200 })).toMatchObject({
      known: true,
    });
    // The running request finishes in the key's object; the tenant's object already charged it.
    expect(await keyObject.settle({ leaseId: running, tokens: 1, costMicros: 50 })).toMatchObject({ known: true });
    // The tenant loses its limits: back in the key's object, the spend of both periods counts.
    expect(await keyObject.acquire(own(401))).toMatchObject({ ok: false, refusal: { kind: "budget", used: 600 } });
    leaseId(await keyObject.acquire(own(400)));
    expect(await keyObject.snapshot("key:toggle")).toMatchObject({ spentMicros: 600, reservedMicros: 400 });
  });

  it("stores a renewal, so a restarted object keeps a long stream's slot until a TTL after its last renewal", async () => {
    const stub = stubFor("key:renew");
    const id = leaseId(await stub.acquire(req([limits("key:renew", { maxConcurrency: 1 })])));
    const expiresAt = () =>
      runInDurableObject(stub, (_obj, state) => state.storage.sql.exec<{ e: number }>("SELECT expires_at AS e FROM leases WHERE id = ?", id).one().e);
    const before = await expiresAt();
    const renewedAt = Date.now();
    expect(await stub.renew({ leaseId: id })).toEqual({ ok: true, renewed: true });
    expect(await expiresAt()).toBeGreaterThanOrEqual(Math.max(before, renewedAt + LEASE_TTL_MS));
    expect(await stub.settle({ leaseId: id, tokens: 1, costMicros: 0 })).toMatchObject({ known: true });
    expect(await stub.renew({ leaseId: id })).toEqual({ ok: true, renewed: false });
    expect(await stub.renew({ leaseId: "" })).toMatchObject({ ok: false });
  });

  it("rejects a malformed acquire without reserving anything, and does not throw across RPC", async () => {
    const stub = stubFor("key:bad");
    const res = await stub.acquire({ subjects: [{ id: "nope", rpm: 1 }], tokens: -1, costMicros: 0 });
    expect(res).toMatchObject({ ok: false, invalid: expect.stringContaining("subjects") });
    expect(await stub.settle({ leaseId: "" })).toMatchObject({ ok: false });
    expect(await stub.settle({ leaseId: "unknown", tokens: 1, costMicros: 1 })).toEqual({ ok: true, known: false });
    expect(await rowCount(stub)).toBe(0);
  });

  it("a crash with admissions in flight never lets the total pass the limit, and costs at most one block per crash", async () => {
    // rpm 50: blocks of ceil(50/16) = 4 requests.
    const name = "key:crash-rpm";
    const l = [limits(name, { rpm: 50 })];
    const block = 4;
    let admitted = 0;
    let lost = 0;
    const crashes = 3;
    for (let i = 0; i < crashes; i++) {
      const r = await burstThenCrash(stubFor(name), 12, req(l));
      admitted += r.admitted;
      lost += r.lost;
    }
    const after = await Promise.all(Array.from({ length: 200 }, () => stubFor(name).acquire(req(l))));
    admitted += after.filter((r) => r.ok).length;
    expect(admitted).toBeLessThanOrEqual(50);
    expect(admitted).toBeGreaterThanOrEqual(50 - crashes * block - lost);
    expect(after.find((r) => !r.ok)).toMatchObject({ refusal: { kind: "requests", limit: 50, used: 50 } });
  });

  it("a crash mid-burst keeps tokens and budget within their limits (requests without a completion maximum reserve the worst case)", async () => {
    // tpm 10,000 (blocks of 625 tokens) and a budget of 10,000 µ$ (blocks of 625 µ$); each request
    // reserves 1,000 tokens and 500 µ$: the budget allows 20, the tokens 10.
    const name = "key:crash-tpm";
    const budgeted = [limits(name, { tpm: 10_000, monthlyBudgetMicros: 10_000 })];
    let admitted = 0;
    let lost = 0;
    for (let i = 0; i < 2; i++) {
      const r = await burstThenCrash(stubFor(name), 6, req(budgeted, 1000, 500));
      admitted += r.admitted;
      lost += r.lost;
    }
    const after = await Promise.all(Array.from({ length: 50 }, () => stubFor(name).acquire(req(budgeted, 1000, 500))));
    admitted += after.filter((r) => r.ok).length;
    expect(admitted * 1000).toBeLessThanOrEqual(10_000);
    // Two crashes cost at most two blocks of 625 tokens (plus the requests whose answers were lost).
    expect(admitted).toBeGreaterThanOrEqual(Math.floor((10_000 - 2 * 625) / 1000) - lost);
    expect(after.find((r) => !r.ok)).toMatchObject({ refusal: { kind: "tokens", limit: 10_000 } });
  });

  it("a crash keeps concurrency within its limit: unpersisted leases hold their slots until the lease TTL", async () => {
    const name = "key:crash-conc";
    const l = [limits(name, { maxConcurrency: 16 })];
    const { admitted, lost } = await burstThenCrash(stubFor(name), 10, req(l));
    const after = await Promise.all(Array.from({ length: 40 }, () => stubFor(name).acquire(req(l))));
    // Nothing was settled: at most 16 in flight across the crash, at most one block (1) lost.
    expect(admitted + after.filter((r) => r.ok).length).toBeLessThanOrEqual(16);
    expect(admitted + after.filter((r) => r.ok).length).toBeGreaterThanOrEqual(16 - 1 - lost);
    expect(after.find((r) => !r.ok)).toMatchObject({ refusal: { kind: "concurrency", limit: 16, used: 16 } });
  });

  it("an eviction right after a burst never over-admits, and under-admits by at most one block", async () => {
    const name = "key:evict-burst";
    const l = [limits(name, { rpm: 64 })];
    const stub = stubFor(name);
    const first = await Promise.all(Array.from({ length: 30 }, () => stub.acquire(req(l))));
    await evictDurableObject(stub);
    const second = await Promise.all(Array.from({ length: 100 }, () => stub.acquire(req(l))));
    const total = [...first, ...second].filter((r) => r.ok).length;
    expect(total).toBeLessThanOrEqual(64);
    expect(total).toBeGreaterThanOrEqual(64 - 4);
  });
});

describe("sharded limits: shard objects borrow blocks of quota from the parent object", () => {
  const shards = (parent: string) => Array.from({ length: 4 }, (_, i) => stubFor(`${parent}/shard-${i}`));
  /** Each request goes to a shard, round robin (the gateway picks one per isolate). */
  const overShards = (parent: string, n: number, request: AcquireRequest) => {
    const s = shards(parent);
    return Promise.all(Array.from({ length: n }, (_, i) => s[i % s.length]!.acquire({ ...request, parent })));
  };

  it("200 concurrent requests over 4 shards on a limit of 50 admit exactly 50", async () => {
    const parent = "tenant:shard-rpm";
    const l = [limits(parent, { rpm: 50 })];
    const results = await overShards(parent, 200, req(l, 100, 0, "key:shard-rpm"));
    expect(results.filter((r) => r.ok)).toHaveLength(50);
    expect(results.find((r) => !r.ok)).toMatchObject({ ok: false, refusal: { kind: "requests", subject: parent, limit: 50, used: 50 } });
    // The parent counts all 50 (every loan in full until it is repaid with what was used).
    expect(await stubFor(parent).snapshot(parent)).toMatchObject({ requests: 50 });
  });

  it("tokens and budget: exactly what the limit allows, over 4 shards, and settled requests give their unused reservation back", async () => {
    const parent = "tenant:shard-tpm";
    // 1,000 tokens and 500 µ$ per request: tpm 10,000 allows 10.
    const tpm = [limits(parent, { tpm: 10_000 })];
    const byTokens = await overShards(parent, 100, req(tpm, 1000, 0, "key:shard-tpm"));
    expect(byTokens.filter((r) => r.ok)).toHaveLength(10);
    expect(byTokens.find((r) => !r.ok)).toMatchObject({ refusal: { kind: "tokens", limit: 10_000 } });

    const budgetParent = "key:shard-budget";
    const budget = [limits(budgetParent, { monthlyBudgetMicros: 10_000 })];
    const byBudget = await overShards(budgetParent, 100, req(budget, 10, 500, "tenant:shard-budget"));
    expect(byBudget.filter((r) => r.ok)).toHaveLength(20);
    expect(byBudget.find((r) => !r.ok)).toMatchObject({ refusal: { kind: "budget", limit: 10_000 } });
    // Each settles at 100 µ$ of the 500 reserved: 8,000 µ$ come back, so exactly 16 more fit.
    const s = shards(budgetParent);
    const settled = await Promise.all(
      byBudget.map((r, i) => (r.ok ? s[i % s.length]!.settle({ leaseId: r.leaseId, tokens: 5, costMicros: 100 }) : null)).filter((p) => p !== null),
    );
    expect(settled.every((r) => r.ok && r.known)).toBe(true);
    const more = await overShards(budgetParent, 50, req(budget, 10, 500, "tenant:shard-budget"));
    expect(more.filter((r) => r.ok)).toHaveLength(16);
  });
});
