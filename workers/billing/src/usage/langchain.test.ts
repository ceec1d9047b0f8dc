import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import type { Correlation } from "../../../shared/src/contracts/langchain";
import { sampleUsageEvent } from "../../../shared/src/testing/usage-event";
import { PriceBook } from "../../../shared/src/pricing";
import { UsageEventSchema, type UsageEvent } from "../../../shared/src/contracts/usage";
import { correlationStatements, langchainRun, langchainUsage } from "./langchain";
import { insertStatements, priceEvent } from "./record";

const env = workerEnv as unknown as BillingEnv & { TEST_MIGRATIONS: D1Migration[] };
const db = () => env.BILLING_DB;

/** $1 / $2 per 1M input / output tokens, cached input $0.50: every token count shows in the micro-dollars. */
const book = new PriceBook([
  { model: "m1", provider: null, input_per_mtok_micros: 1_000_000, output_per_mtok_micros: 2_000_000, cached_input_per_mtok_micros: 500_000 },
  { model: "m2", provider: null, input_per_mtok_micros: 1_000_000, output_per_mtok_micros: 2_000_000, cached_input_per_mtok_micros: null },
]);

const DAY1 = Date.UTC(2026, 11, 5, 23, 0, 0);
const DAY2 = Date.UTC(2026, 11, 6, 1, 0, 0);

/** Stores events exactly as the consumer does: usage rows and labels in one batch. */
async function store(...events: UsageEvent[]): Promise<void> {
  const priced = events.map((e) => priceEvent(UsageEventSchema.parse(e), book));
  await db().batch([...insertStatements(db(), priced, 0), ...correlationStatements(db(), priced)]);
}

const labelled = (c: Partial<Correlation>, over: Partial<UsageEvent> = {}): UsageEvent =>
  sampleUsageEvent({
    model: "m1",
    prompt_tokens: 100,
    cached_tokens: 40,
    completion_tokens: 50,
    reasoning_tokens: 10,
    total_tokens: 150,
    started_at: DAY1,
    correlation: { run_id: null, parent_run_id: null, session_id: null, project: null, tags: [], metadata: null, ...c },
    ...over,
  });

const scopeA = { tenantId: "ten_1" };

beforeAll(async () => {
  await applyD1Migrations(env.BILLING_DB, env.TEST_MIGRATIONS);
});
beforeEach(async () => {
  await db().batch(
    ["usage_events", "usage_monthly", "usage_rollups", "langchain_requests", "langchain_request_tags"].map((t) => db().prepare(`DELETE FROM ${t}`)),
  );
});

// One request: 60 uncached × $1 + 40 cached × $0.50 + 50 × $2 per 1M = 60 + 20 + 100 = 180 µ$.
const MICROS = 180;

describe("langchain usage", () => {
  it("sums by run, session and tag, groups by model, day and tag, and counts each request once in totals", async () => {
    await store(
      labelled({ run_id: "r1", session_id: "s", tags: ["a", "b"] }),
      labelled({ run_id: "r1", session_id: "s", tags: ["a"] }, { started_at: DAY2, model: "m2" }),
      labelled({ run_id: "r2", session_id: "s" }),
      labelled({ run_id: "r3", session_id: "other" }, { tenant_id: "ten_2" }),
      sampleUsageEvent({ model: "m1" }), // not made through /v1/langchain: never counted here
    );
    const run = await langchainUsage(db(), scopeA, { run_id: "r1", group_by: "model" });
    // m2 has no cached price: 100 × $1 + 50 × $2 = 200 µ$.
    expect(run).toEqual({
      ok: true,
      value: {
        object: "langchain.usage",
        data: [
          {
            model: "m1",
            requests: 1,
            input_tokens: 100,
            output_tokens: 50,
            cached_tokens: 40,
            cache_write_tokens: 0,
            reasoning_tokens: 10,
            cost_usd: "0.000180",
            cost_usd_micros: MICROS,
          },
          {
            model: "m2",
            requests: 1,
            input_tokens: 100,
            output_tokens: 50,
            cached_tokens: 40,
            cache_write_tokens: 0,
            reasoning_tokens: 10,
            cost_usd: "0.000200",
            cost_usd_micros: 200,
          },
        ],
        has_more: false,
        totals: {
          requests: 2,
          input_tokens: 200,
          output_tokens: 100,
          cached_tokens: 80,
          cache_write_tokens: 0,
          reasoning_tokens: 20,
          cost_usd: "0.000380",
          cost_usd_micros: MICROS + 200,
        },
      },
    });

    const byTag = await langchainUsage(db(), scopeA, { session_id: "s", group_by: "tag" });
    if (!byTag.ok) throw new Error("expected ok");
    expect(byTag.value.data.map((d) => [d.tag, d.requests])).toEqual([
      [null, 1],
      ["a", 2],
      ["b", 1],
    ]);
    expect(byTag.value.totals.requests).toBe(3);

    const byDay = await langchainUsage(db(), scopeA, { tag: "a", group_by: "day" });
    if (!byDay.ok) throw new Error("expected ok");
    expect(byDay.value.data.map((d) => [d.day, d.requests])).toEqual([
      ["2026-12-05", 1],
      ["2026-12-06", 1],
    ]);

    const day2 = await langchainUsage(db(), scopeA, { start_time: DAY2 / 1000, end_time: DAY2 / 1000 + 60 });
    if (!day2.ok) throw new Error("expected ok");
    expect(day2.value.totals.requests).toBe(1);

    const other = await langchainUsage(db(), scopeA, { session_id: "other" });
    expect(other).toMatchObject({ ok: true, value: { data: [], totals: { requests: 0, cost_usd: "0.000000", cost_usd_micros: 0 } } });
  });

  it("refuses an unknown group_by, an unknown param and a reversed range, naming the param", async () => {
    expect(await langchainUsage(db(), scopeA, { group_by: "week" })).toMatchObject({ ok: false, error: { code: "invalid_request", param: "group_by" } });
    expect(await langchainUsage(db(), scopeA, { runid: "x" })).toMatchObject({ ok: false, error: { code: "invalid_request", param: "runid" } });
    expect(await langchainUsage(db(), scopeA, { start_time: "1800000000", end_time: "1700000000" })).toMatchObject({
      ok: false,
      error: { code: "invalid_request", param: "end_time" },
    });
  });
});

describe("langchain runs", () => {
  it("lists a run's requests oldest first, its children and its totals; another tenant's run is not found", async () => {
    const first = labelled({ run_id: "parent", tags: ["t2", "t1"], metadata: '{"k":"v"}', project: "p" });
    const second = labelled({ run_id: "parent" }, { started_at: DAY2 });
    await store(
      second,
      first,
      labelled({ run_id: "child-b", parent_run_id: "parent" }, { started_at: DAY2 }),
      labelled({ run_id: "child-a", parent_run_id: "parent" }),
      labelled({ run_id: "child-a", parent_run_id: "parent" }),
    );
    const run = await langchainRun(db(), scopeA, "parent");
    if (!run.ok) throw new Error("expected ok");
    expect(run.value.run_id).toBe("parent");
    expect(run.value.children).toEqual(["child-a", "child-b"]);
    expect(run.value.data.map((d) => d.request_id)).toEqual([first.request_id, second.request_id]);
    expect(run.value.data[0]).toMatchObject({
      model: "m1",
      input_tokens: 100,
      output_tokens: 50,
      cached_tokens: 40,
      reasoning_tokens: 10,
      cost_usd: "0.000180",
      cost_usd_micros: MICROS,
      latency_ms: 12.5,
      tags: ["t1", "t2"],
      metadata: { k: "v" },
      project: "p",
      created_at: DAY1 / 1000,
    });
    expect(run.value.totals).toMatchObject({ requests: 2, cost_usd_micros: 2 * MICROS });

    // Cache writes (Anthropic's) are their own count, as billing stored them.
    await store(labelled({ run_id: "writer" }, { cached_tokens: 0, cache_write_tokens: 30 }));
    const writer = await langchainRun(db(), scopeA, "writer");
    expect(writer).toMatchObject({ ok: true, value: { data: [{ cache_write_tokens: 30, cached_tokens: 0 }], totals: { cache_write_tokens: 30 } } });

    expect(await langchainRun(db(), { tenantId: "ten_2" }, "parent")).toMatchObject({ ok: false, error: { code: "not_found", param: "run_id" } });
    expect(await langchainRun(db(), scopeA, "nope")).toMatchObject({ ok: false, error: { code: "not_found" } });
  });
});
