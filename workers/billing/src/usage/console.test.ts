import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { PriceBook } from "../../../shared/src/pricing";
import { UsageEventSchema, type UsageEvent } from "../../../shared/src/contracts/usage";
import { sampleUsageEvent } from "../../../shared/src/testing/usage-event";
import { consoleReport } from "./console";
import { usageBuckets } from "./organization";
import { insertStatements, priceEvent } from "./record";

const env = workerEnv as unknown as BillingEnv & { TEST_MIGRATIONS: D1Migration[] };
const db = () => env.BILLING_DB;
const book = new PriceBook([
  {
    model: "gpt-4o-mini",
    provider: "openai",
    input_per_mtok_micros: 150_000,
    output_per_mtok_micros: 600_000,
    cached_input_per_mtok_micros: null,
    cache_write_per_mtok_micros: null,
  },
]);
const store = (events: UsageEvent[]) =>
  db().batch(
    insertStatements(
      db(),
      events.map((e) => priceEvent(UsageEventSchema.parse(e), book)),
      0,
    ),
  );

/** 2026-11-30 22:00 UTC: the window below crosses an hour, a day and a month. */
const T = Date.UTC(2026, 10, 30, 22, 0, 0);
const S = T / 1000;
const H = 3_600_000;

beforeAll(async () => {
  await applyD1Migrations(env.BILLING_DB, env.TEST_MIGRATIONS);
});
beforeEach(async () => {
  await db().batch(["usage_events", "usage_monthly", "usage_rollups"].map((t) => db().prepare(`DELETE FROM ${t}`)));
});

describe("the console report (billing's usage ledger)", () => {
  it("totals, series and breakdowns equal the usage API's; errors, exact p50/p95 and abandoned attempts are shown", async () => {
    // 20 requests of tenant 1 with latencies 1..20 ms over three hours (one after midnight, a new month), 2 failures,
    // one request with an abandoned attempt; and a request of tenant 2 that tenant 1 never sees.
    const events: UsageEvent[] = Array.from({ length: 20 }, (_, i) =>
      sampleUsageEvent({
        request_id: `req_${String(i).padStart(2, "0")}`,
        started_at: T + (i % 3) * H + 17 * 60_000 + i * 1001, // inside the hour, off the second grid
        latency_ms: i + 1,
        key_id: i < 5 ? "key_b" : "key_a",
        model: i % 2 === 0 ? "gpt-4o-mini" : "other-model",
        provider: i % 2 === 0 ? "openai" : "groq",
        status: i === 3 ? 502 : 200,
        upstream_error: i === 4,
      }),
    );
    events.push(
      sampleUsageEvent({
        request_id: "req_19.attempt1",
        started_at: T + (19 % 3) * H + 17 * 60_000 + 19 * 1001,
        latency_ms: 500,
        key_id: "key_a",
        provider: "slow",
        model: "gpt-4o-mini",
        status: 504,
        upstream_error: true,
        tags: { attempt: "abandoned", usage: "estimated" },
      }),
      sampleUsageEvent({ request_id: "req_other", tenant_id: "ten_2", started_at: T }),
    );
    await store(events);

    const res = await consoleReport(db(), { tenantId: "ten_1" }, { start_time: S, end_time: S + 3 * 3600, recent: 3 }, S + 3 * 3600);
    expect(res.ok).toBe(true);
    if (!res.ok) return;
    const r = res.value;
    const usage = await usageBuckets(
      db(),
      { tenantId: "ten_1" },
      "completions",
      { start_time: String(S), end_time: String(S + 3 * 3600), bucket_width: "1h" },
      S + 3 * 3600,
    );
    if (!usage.ok) throw new Error("usage API failed");
    const apiRequests = usage.value.data.flatMap((b) => b.results).reduce((s, x) => s + x.num_model_requests, 0);
    expect(r.totals.requests).toBe(21);
    expect(r.totals.requests).toBe(apiRequests);
    expect(r.series.map((b) => [b.start_time, b.requests])).toEqual([
      [S, 7],
      [S + 3600, 8],
      [S + 7200, 6],
    ]);
    expect(r.series.map((b) => b.requests)).toEqual(usage.value.data.map((b) => b.results.reduce((s, x) => s + x.num_model_requests, 0)));
    expect(r.totals.errors).toBe(3); // a 502, a broken stream and the abandoned attempt
    expect(r.totals.error_rate).toBeCloseTo(3 / 21, 10);
    // Nearest rank over 21 latencies (1..20 and 500): the 11th and the 20th.
    expect(r.totals.latency_p50_ms).toBe(11);
    expect(r.totals.latency_p95_ms).toBe(20);
    expect(r.by_key).toEqual([expect.objectContaining({ name: "key_a", requests: 16 }), expect.objectContaining({ name: "key_b", requests: 5 })]);
    expect(r.by_provider.map((g) => [g.name, g.requests])).toEqual([
      ["groq", 10],
      ["openai", 10],
      ["slow", 1],
    ]);
    expect(r.by_model.reduce((s, g) => s + g.cost_usd_micros, 0)).toBe(r.totals.cost_usd_micros);
    expect(r.by_tenant).toEqual([]);
    // The latest three requests, newest first, abandoned attempts attached to their request, not listed on their own.
    expect(r.recent.map((x) => [x.request_id, x.attempts])).toEqual([
      ["req_17", 1],
      ["req_14", 1],
      ["req_11", 1],
    ]);
    const all = await consoleReport(db(), { tenantId: "ten_1" }, { start_time: S, end_time: S + 3 * 3600, recent: 100 }, S);
    if (!all.ok) throw new Error("report failed");
    expect(all.value.recent).toHaveLength(20);
    expect(all.value.recent.find((x) => x.request_id === "req_19")).toMatchObject({
      attempts: 2,
      abandoned_attempts: [{ request_id: "req_19.attempt1", provider: "slow", model: "gpt-4o-mini", status: 504 }],
    });
  });

  it("the admin's report spans tenants with a by-tenant breakdown; a tenant's reader cannot name another tenant (404)", async () => {
    await store([
      sampleUsageEvent({ started_at: T }),
      sampleUsageEvent({ started_at: T, tenant_id: "ten_2" }),
      sampleUsageEvent({ started_at: T, tenant_id: "ten_2" }),
    ]);
    const admin = await consoleReport(db(), { tenantId: null }, { start_time: S }, S + 60);
    expect(admin.ok && admin.value.by_tenant.map((g) => [g.name, g.requests])).toEqual([
      ["ten_2", 2],
      ["ten_1", 1],
    ]);
    const one = await consoleReport(db(), { tenantId: null }, { start_time: S, tenant_id: "ten_1" }, S + 60);
    expect(one.ok && one.value.totals.requests).toBe(1);
    const other = await consoleReport(db(), { tenantId: "ten_1" }, { start_time: S, tenant_id: "ten_2" }, S + 60);
    expect(other).toMatchObject({ ok: false, error: { code: "not_found" } });
  });

  it("refuses an unbounded window and a malformed query with the parameter named", async () => {
    expect(await consoleReport(db(), { tenantId: "ten_1" }, { start_time: S - 8 * 86_400 }, S)).toMatchObject({
      ok: false,
      error: { code: "invalid_request", param: "start_time" },
    });
    expect(await consoleReport(db(), { tenantId: "ten_1" }, { start_time: S, bucket_width: "1m" }, S)).toMatchObject({
      ok: false,
      error: { param: "bucket_width" },
    });
    const empty = await consoleReport(db(), { tenantId: "ten_1" }, { start_time: S, end_time: S + 7200 }, S);
    expect(empty.ok && empty.value.totals).toEqual({
      requests: 0,
      errors: 0,
      input_tokens: 0,
      output_tokens: 0,
      total_tokens: 0,
      cost_usd_micros: 0,
      error_rate: 0,
      latency_p50_ms: null,
      latency_p95_ms: null,
    });
    expect(empty.ok && empty.value.series).toHaveLength(2);
  });
});
