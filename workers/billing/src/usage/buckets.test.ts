import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PriceBook } from "../../../shared/src/pricing";
import { MAX_RESULT_ROWS } from "../../../shared/src/contracts/usage-api";
import { UsageEventSchema, type UsageEvent } from "../../../shared/src/contracts/usage";
import { sampleUsageEvent } from "../../../shared/src/testing/usage-event";
import { costBuckets, usageBuckets } from "./organization";
import { insertStatements, priceEvent } from "./record";

const env = workerEnv as unknown as BillingEnv & { TEST_MIGRATIONS: D1Migration[] };
const db = () => env.BILLING_DB;

const book = new PriceBook([
  {
    model: "gpt-4o-mini",
    provider: "openai",
    input_per_mtok_micros: 150_000,
    output_per_mtok_micros: 600_000,
    cached_input_per_mtok_micros: 75_000,
    cache_write_per_mtok_micros: null,
  },
]);
/** The consumer's write path: priced events, inserted idempotently (ON CONFLICT DO NOTHING). */
const store = (events: UsageEvent[]) =>
  db().batch(
    insertStatements(
      db(),
      events.map((e) => priceEvent(UsageEventSchema.parse(e), book)),
      0,
    ),
  );

/** 2026-11-30 23:59:00 UTC: a minute, an hour, a day and a month end together one minute later. */
const T = Date.UTC(2026, 10, 30, 23, 59, 0);
const S = T / 1000;
const tenant = { tenantId: "ten_1" } as const;

beforeAll(async () => {
  await applyD1Migrations(env.BILLING_DB, env.TEST_MIGRATIONS);
});
beforeEach(async () => {
  await db().batch(["usage_events", "usage_monthly", "usage_rollups"].map((t) => db().prepare(`DELETE FROM ${t}`)));
});

async function sums(width: number) {
  return db()
    .prepare(
      "SELECT SUM(requests) AS requests, SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion, SUM(cost_usd_micros) AS micros FROM usage_rollups WHERE width = ?",
    )
    .bind(width)
    .first();
}

describe("usage_rollups (migration 0005)", () => {
  it("every width sums to exactly the stored events, and a redelivered event changes nothing", async () => {
    const events = [
      sampleUsageEvent({ started_at: T, prompt_tokens: 1000, cached_tokens: 200, completion_tokens: 500, total_tokens: 1500 }),
      sampleUsageEvent({ started_at: T + 59_999, key_id: "key_2" }),
      sampleUsageEvent({ started_at: T + 60_000, operation: "embeddings", completion_tokens: 0, total_tokens: 10 }),
    ];
    await store(events);
    await store([events[0]!, events[2]!]); // redelivered
    const truth = await db()
      .prepare(
        "SELECT COUNT(*) AS requests, SUM(prompt_tokens) AS prompt, SUM(completion_tokens) AS completion, SUM(cost_usd_micros) AS micros FROM usage_events",
      )
      .first();
    // 435 µ$ (800 × 0.15 + 200 × 0.075 + 500 × 0.6) + 2 × ceil(10 × 0.15 + 5 × 0.6 = 4.5) … the last has no completion: ceil(1.5) = 2.
    expect(truth).toEqual({ requests: 3, prompt: 1020, completion: 505, micros: 435 + 5 + 2 });
    for (const width of [60, 3600, 86400]) expect(await sums(width)).toEqual(truth);
  });

  it("puts a request in the bucket of its start, on the UTC grid", async () => {
    await store([sampleUsageEvent({ started_at: T + 59_999 }), sampleUsageEvent({ started_at: T + 60_000 })]);
    const { results } = await db().prepare("SELECT width, bucket_start, requests FROM usage_rollups ORDER BY width, bucket_start").all();
    expect(results).toEqual([
      { width: 60, bucket_start: S, requests: 1 },
      { width: 60, bucket_start: S + 60, requests: 1 },
      { width: 3600, bucket_start: S + 60 - 3600, requests: 1 },
      { width: 3600, bucket_start: S + 60, requests: 1 },
      { width: 86400, bucket_start: S + 60 - 86400, requests: 1 },
      { width: 86400, bucket_start: S + 60, requests: 1 },
    ]);
  });
});

describe("usageBuckets / costBuckets", () => {
  it("lists every bucket of the range (empty ones too), pages by limit and goes on at next_page", async () => {
    await store([sampleUsageEvent({ started_at: T }), sampleUsageEvent({ started_at: T + 120_000, operation: "embeddings" })]);
    const first = await usageBuckets(db(), tenant, "completions", { start_time: S + 30, end_time: S + 150, bucket_width: "1m", limit: "2" }, 0);
    expect(first).toEqual({
      ok: true,
      value: {
        object: "page",
        data: [
          {
            object: "bucket",
            start_time: S,
            end_time: S + 60,
            results: [expect.objectContaining({ num_model_requests: 1, input_tokens: 10, output_tokens: 5, model: null })],
          },
          { object: "bucket", start_time: S + 60, end_time: S + 120, results: [] },
        ],
        has_more: true,
        next_page: String(S + 120),
      },
    });
    const second = await usageBuckets(
      db(),
      tenant,
      "completions",
      { start_time: S + 30, end_time: S + 150, bucket_width: "1m", limit: "2", page: String(S + 120) },
      0,
    );
    // The embeddings call is not completions usage.
    expect(second).toEqual({
      ok: true,
      value: { object: "page", data: [{ object: "bucket", start_time: S + 120, end_time: S + 180, results: [] }], has_more: false, next_page: null },
    });
    const other = await usageBuckets(db(), { tenantId: "ten_2" }, "embeddings", { start_time: S, end_time: S + 180, bucket_width: "1h" }, 0);
    expect(other.ok && other.value.data.flatMap((b) => b.results)).toEqual([]);
  });

  it("refuses a page that is not a next_page of the query, and tenant_id grouping to a tenant", async () => {
    const q = { start_time: S, end_time: S + 600, bucket_width: "1m" };
    expect(await usageBuckets(db(), tenant, "completions", { ...q, page: String(S + 30) }, 0)).toMatchObject({ ok: false, error: { param: "page" } });
    expect(await usageBuckets(db(), tenant, "completions", { ...q, page: String(S + 600) }, 0)).toMatchObject({ ok: false, error: { param: "page" } });
    expect(await usageBuckets(db(), tenant, "completions", { ...q, group_by: "tenant_id" }, 0)).toMatchObject({ ok: false, error: { param: "group_by" } });
    const admin = await usageBuckets(db(), { tenantId: null }, "completions", { ...q, group_by: "tenant_id" }, 0);
    expect(admin.ok).toBe(true);
  });

  it("stops a page before the bucket that would pass MAX_RESULT_ROWS, and goes on from it", async () => {
    const row = (bucket: number, model: string) =>
      db()
        .prepare(
          `INSERT INTO usage_rollups (width, tenant_id, bucket_start, key_id, model, operation, requests, prompt_tokens, completion_tokens,
             cached_tokens, reasoning_tokens, total_tokens, cost_usd_micros) VALUES (60, 'ten_1', ?, 'key_1', ?, 'chat', 1, 1, 1, 0, 0, 2, 1)`,
        )
        .bind(bucket, model);
    const rows = [];
    for (let i = 0; i < MAX_RESULT_ROWS - 10; i++) rows.push(row(S, `m${i}`));
    for (let i = 0; i < 20; i++) rows.push(row(S + 60, `m${i}`));
    for (let i = 0; i < rows.length; i += 500) await db().batch(rows.slice(i, i + 500));
    const q = { start_time: S, end_time: S + 120, bucket_width: "1m", group_by: "model" };
    const first = await usageBuckets(db(), tenant, "completions", q, 0);
    if (!first.ok) throw new Error(first.error.message);
    expect(first.value.data.map((b) => [b.start_time, b.results.length])).toEqual([[S, MAX_RESULT_ROWS - 10]]);
    expect(first.value).toMatchObject({ has_more: true, next_page: String(S + 60) });
    const second = await usageBuckets(db(), tenant, "completions", { ...q, page: first.value.next_page! }, 0);
    expect(second.ok && second.value.data.map((b) => [b.start_time, b.results.length])).toEqual([[S + 60, 20]]);
  });

  it("costs: integer micro-dollars per line item, with the USD value beside them", async () => {
    await store([
      sampleUsageEvent({ started_at: T }),
      sampleUsageEvent({ started_at: T, key_id: "key_2" }),
      sampleUsageEvent({ started_at: T, model: "unpriced-1", requested_model: "unpriced-1" }),
    ]);
    const res = await costBuckets(db(), tenant, { start_time: S, end_time: S + 60, group_by: "line_item" }, 0);
    if (!res.ok) throw new Error(res.error.message);
    expect(res.value.data).toHaveLength(1);
    expect(res.value.data[0]!.results).toEqual([
      {
        object: "organization.costs.result",
        amount: { value: 0.00001, currency: "usd" },
        cost_usd_micros: 10,
        line_item: "gpt-4o-mini-2024-07-18",
        project_id: null,
        api_key_id: null,
      },
      {
        object: "organization.costs.result",
        amount: { value: 0, currency: "usd" },
        cost_usd_micros: 0,
        line_item: "unpriced-1",
        project_id: null,
        api_key_id: null,
      },
    ]);
  });
});
