import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { beforeAll, beforeEach, describe, expect, it } from "vitest";
import { ok } from "../../../shared/src";
import type { BillingAuditRecord } from "../../../shared/src/contracts/auth";
import type { EmitTenantEvent } from "../../../shared/src/contracts/webhooks";
import { sampleUsageEvent } from "../../../shared/src/testing/usage-event";
import { UsageEventSchema, type UsageEvent } from "../../../shared/src/contracts/usage";
import { insertStatements, priceEvent, type PricedUsage } from "../usage/record";
import { PriceStore } from "../prices/store";
import { BillingAlerts, OUTBOX_RETRY_AFTER_MS, type AlertSinks } from "./alerts";

const env = workerEnv as unknown as BillingEnv & { TEST_MIGRATIONS: D1Migration[] };
const db = () => env.BILLING_DB;

beforeAll(async () => {
  await applyD1Migrations(env.BILLING_DB, env.TEST_MIGRATIONS);
});

beforeEach(async () => {
  await db().batch([
    db().prepare("DELETE FROM usage_events"),
    db().prepare("DELETE FROM usage_monthly"),
    db().prepare("DELETE FROM billing_alerts"),
    db().prepare("DELETE FROM credit_grants"),
    db().prepare("DELETE FROM prices"),
    // $1 per 1M output tokens: 1000 completion tokens cost 1000 µ$.
    db().prepare("INSERT INTO prices (model, provider, input_per_mtok_micros, output_per_mtok_micros, updated_at) VALUES ('m', 'p', 0, 1000000, 0)"),
  ]);
});

const START = Date.UTC(2026, 10, 15);

/** A sink that records what it was given; `failEmit` makes the webhook side fail (tail unreachable). */
function sinks(opts: { failEmit?: boolean } = {}): AlertSinks & { emitted: EmitTenantEvent[]; audited: BillingAuditRecord[] } {
  const emitted: EmitTenantEvent[] = [];
  const audited: BillingAuditRecord[] = [];
  return {
    emitted,
    audited,
    async emit(input) {
      if (opts.failEmit) throw new Error("tail unreachable");
      emitted.push(input);
      return ok({ event_id: "evt_x", deliveries: 1 });
    },
    async audit(input) {
      audited.push(input);
      return ok({ id: "aud_x", written: true });
    },
  };
}

/** Stores `n` requests of 1000 µ$ each for key k1 of tenant t1 (key budget 10000 µ$, tenant budget 100000 µ$), as the consumer does. */
async function store(n: number, from = 0): Promise<PricedUsage[]> {
  const book = await new PriceStore(db()).versionedBook();
  const rows = Array.from({ length: n }, (_, i) => {
    const e: UsageEvent = sampleUsageEvent({
      request_id: `req_${from + i}`,
      tenant_id: "t1",
      key_id: "k1",
      model: "m",
      provider: "p",
      prompt_tokens: 0,
      completion_tokens: 1000,
      cached_tokens: 0,
      total_tokens: 1000,
      started_at: START + from + i,
      budgets: { key_micros: 10_000, tenant_micros: 100_000 },
    });
    return priceEvent(UsageEventSchema.parse(e), book.book, book.versions);
  });
  await db().batch(insertStatements(db(), rows, START));
  return rows;
}

describe("budget alerts", () => {
  it("fire each crossed threshold once per subject and month, however many runs see it concurrently", async () => {
    const rows = await store(9); // key at 90 %, tenant at 9 %
    const sink = sinks();
    const alerts = new BillingAlerts(db(), sink, () => START);
    const runs = await Promise.all(Array.from({ length: 12 }, () => alerts.afterUsage(rows)));
    expect(runs.flatMap((r) => r.fired)).toHaveLength(2);
    expect(sink.emitted.map((e) => [e.type, e.data.subject, e.data.threshold_pct, e.data.period]).sort()).toEqual([
      ["billing.budget_threshold", "key:k1", 50, "2026-11"],
      ["billing.budget_threshold", "key:k1", 80, "2026-11"],
    ]);
    expect(sink.emitted.every((e) => e.dedupe_key === e.data.id)).toBe(true);
    expect(sink.audited.map((a) => [a.action, a.target_type, a.target_id, a.tenant_id, a.ref]).sort()).toEqual(
      sink.emitted.map((e) => ["billing.budget_threshold", "budget", "key:k1", "t1", e.data.id]).sort(),
    );

    // The 10th request reaches 100 % of the key's budget: only that threshold is new.
    await alerts.afterUsage(await store(1, 9));
    expect(sink.emitted.map((e) => e.data.threshold_pct)).toEqual([50, 80, 100]);
  });

  it("a delivery that failed is retried later with the same alert (event id and audit ref), and only then", async () => {
    const rows = await store(5);
    const failing = sinks({ failEmit: true });
    await new BillingAlerts(db(), failing, () => START).afterUsage(rows);
    expect(failing.audited).toHaveLength(1);
    const pending = await db()
      .prepare("SELECT id, notified_at, audited_at FROM billing_alerts")
      .all<{ id: string; notified_at: number | null; audited_at: number | null }>();
    expect(pending.results).toEqual([{ id: failing.audited[0]!.ref, notified_at: null, audited_at: START }]);

    const later = sinks();
    // Not before OUTBOX_RETRY_AFTER_MS (the first deliverer may still be at it), then once.
    await new BillingAlerts(db(), later, () => START + OUTBOX_RETRY_AFTER_MS - 1).retryPending();
    expect(later.emitted).toHaveLength(0);
    await new BillingAlerts(db(), later, () => START + OUTBOX_RETRY_AFTER_MS).retryPending();
    await new BillingAlerts(db(), later, () => START + OUTBOX_RETRY_AFTER_MS).retryPending();
    expect(later.emitted.map((e) => e.dedupe_key)).toEqual([failing.audited[0]!.ref]);
    expect(later.audited).toHaveLength(0);
  });

  it("events without budgets (older producers) and budgets of 0 fire nothing", async () => {
    const rows = (await store(10)).map((r) => ({ ...r, event: { ...r.event, budgets: null } }));
    const sink = sinks();
    await new BillingAlerts(db(), sink, () => START).afterUsage(rows);
    await new BillingAlerts(db(), sink, () => START).afterUsage(
      rows.map((r) => ({ ...r, event: { ...r.event, budgets: { key_micros: 0, tenant_micros: 0 } } })),
    );
    expect(sink.emitted).toEqual([]);
  });
});

describe("credits_low", () => {
  it("fires once per grant when the balance is below the floor (default 10 % of the newest grant)", async () => {
    await db()
      .prepare("INSERT INTO credit_grants (id, tenant_id, amount_micros, expires_at, created_at) VALUES ('cg_1', 't1', 10000, NULL, ?)")
      .bind(START - 1)
      .run();
    const sink = sinks();
    const alerts = new BillingAlerts(db(), sink, () => START + 100);
    await alerts.afterUsage(await store(8)); // balance 2000 ≥ floor 1000
    expect(sink.emitted.filter((e) => e.type === "billing.credits_low")).toEqual([]);
    await alerts.afterUsage(await store(1, 8)); // balance 1000: not below
    const last = await store(1, 9); // balance 0: five consumers see it at once
    await Promise.all(Array.from({ length: 5 }, () => alerts.afterUsage(last)));
    const low = () => sink.emitted.filter((e) => e.type === "billing.credits_low");
    expect(low().map((e) => e.data)).toEqual([expect.objectContaining({ subject: "tenant:t1", period: "cg_1", balance_micros: 0, floor_micros: 1000 })]);
  });
});
