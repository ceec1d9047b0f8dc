import OpenAI from "openai";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { CreatedWebhookEndpoint, EmittedTenantEvent } from "../../workers/shared/src/contracts/webhooks";
import type { Result } from "../../workers/shared/src/result";
import { startCoreStack } from "../fake-upstream/stack";
import { monthOf } from "../support/billing";
import { openaiClient } from "../support/clients";
import { expectError } from "../support/errors";
import { gatewayFetch } from "../support/fetch";
import { uniqueModel } from "../support/names";
import { afterCreditChange, afterPriceChange } from "../support/propagation";
import type { Stack } from "../support/stack";
import { d1 } from "../support/stores";
import { adminFetch, createKey, createTenant, type Tenant } from "../support/tenants";
import { eventually } from "../support/wait";
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from "../support/webhook-receiver";

/**
 * Budget and credit alerts end to end: traffic through the gateway with the `openai` SDK, usage
 * through the Queue into billing, alerts through tail's tenant webhooks to receivers the test runs
 * (each delivery verified with the SDK's `webhooks.unwrap`, Standard Webhooks) and into auth's
 * audit log — each threshold exactly once per period, under concurrent requests.
 */
let stack: Stack;
let close: () => Promise<void>;
const receivers: WebhookReceiver[] = [];
beforeAll(async () => {
  ({ stack, close } = await startCoreStack());
});
afterAll(async () => {
  await Promise.all(receivers.map((r) => r.close()));
  await close?.();
});

/** $1000 per 1M output tokens, input free: the fake's 7 completion tokens cost 7000 µ$, exactly what max_tokens: 7 reserves. */
const PER_REQUEST = 7_000;
const messages = [{ role: "user" as const, content: "What is the capital of France?" }];
const json = async <T>(res: Response, status = 200): Promise<T> => {
  const text = await res.text();
  expect(res.status, text).toBe(status);
  return JSON.parse(text) as T;
};

interface AlertEvent {
  id: string;
  object: "event";
  type: string;
  created_at: number;
  data: {
    id: string;
    subject?: string;
    threshold_pct?: number;
    period?: string;
    budget_micros?: number;
    spend_micros?: number;
    balance_micros?: number;
    floor_micros?: number;
  };
}
interface AuditEntry {
  actor: string;
  action: string;
  tenant_id: string | null;
  target_type: string;
  target_id: string;
  details: Record<string, unknown>;
}

let model: string;
beforeAll(async () => {
  model = uniqueModel("alerts-chat");
  expect((await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 0, output_per_mtok: 1000 } })).status).toBe(201);
  await afterPriceChange(stack);
});

/** A tenant's webhook endpoint on a receiver of this test, for every event type; the receiver and the signing secret. */
async function endpointFor(tenant: Tenant): Promise<{ receiver: WebhookReceiver; secret: string }> {
  const writer = await createKey(stack, tenant.id, { scopes: ["webhooks:write"] });
  const receiver = await startWebhookReceiver();
  receivers.push(receiver);
  const created = await json<CreatedWebhookEndpoint>(await gatewayFetch(stack, "/v1/webhooks", { key: writer.key, body: { url: receiver.url } }), 201);
  return { receiver, secret: created.secret };
}

/** Every delivery verified as a tenant's server would (the openai SDK, Standard Webhooks); a bad signature throws. */
async function verified(received: ReceivedWebhook[], secret: string): Promise<AlertEvent[]> {
  const sdk = openaiClient(stack, "sk-unused");
  const out: AlertEvent[] = [];
  for (const r of received) {
    const headers = Object.fromEntries(Object.entries(r.headers).flatMap(([k, v]) => (typeof v === "string" ? [[k, v]] : [])));
    const event = (await sdk.webhooks.unwrap(r.body, headers, secret)) as unknown as AlertEvent;
    expect(r.headers["webhook-id"]).toBe(event.id);
    out.push(event);
  }
  return out;
}

/**
 * A barrier: an event emitted the way billing emits (its TENANT_EVENTS binding) after everything
 * else, waited for; deliveries of one endpoint arrive in queue order, so anything billing queued
 * before it (a duplicate alert) has arrived once it has.
 */
const sentinels = new Set<string>();
async function drained(tenantId: string, receiver: WebhookReceiver): Promise<ReceivedWebhook[]> {
  const env = (await stack.harness.getWorker("billing").getEnv()) as { TENANT_EVENTS: { emit(i: unknown): Promise<Result<EmittedTenantEvent>> } };
  const sentinel = await env.TENANT_EVENTS.emit({ tenant_id: tenantId, type: "batch.completed", data: { id: "batch_sentinel" } });
  if (!sentinel.ok) throw new Error(sentinel.error.message);
  const eventId = sentinel.value.event_id;
  sentinels.add(eventId);
  await eventually(async () => (receiver.received.some((r) => r.headers["webhook-id"] === eventId) ? true : null), 20_000, "the sentinel event");
  return receiver.received.filter((r) => !sentinels.has(String(r.headers["webhook-id"])));
}

async function auditOf(tenantId: string): Promise<AuditEntry[]> {
  const page = await json<{ data: AuditEntry[] }>(await gatewayFetch(stack, `/admin/audit-log?tenant_id=${tenantId}&limit=100`, { admin: true }));
  return page.data.filter((e) => e.action.startsWith("billing."));
}

/** The tenant's recorded spend (µ$) this month, from the usage API. */
async function spendOf(readerKey: string): Promise<number> {
  const start = Math.floor(Date.now() / 1000) - 86_400;
  const page = await json<{ data: { results: { cost_usd_micros: number }[] }[] }>(
    await gatewayFetch(stack, `/v1/organization/costs?start_time=${start}&limit=31`, { key: readerKey }),
  );
  return page.data.flatMap((b) => b.results).reduce((n, r) => n + r.cost_usd_micros, 0);
}

const ask = (client: OpenAI) => client.chat.completions.create({ model: `fake/${model}`, messages, max_tokens: 7 });

describe("billing.budget_threshold: 50 / 80 / 100 % of a key's and a tenant's monthly budget", () => {
  const month = monthOf(Date.now());
  let tenant: Tenant;
  let capped: { id: string; key: string };
  let open: { id: string; key: string };
  let reader: string;
  let hook: { receiver: WebhookReceiver; secret: string };
  let events: AlertEvent[];

  beforeAll(async () => {
    // Tenant budget $0.50 (71 requests); key A's $0.07 (10 requests); key B has none.
    tenant = await createTenant(stack, { name: "alerts-budget", budget: { monthly_usd: 0.5 } });
    capped = await createKey(stack, tenant.id, { scopes: ["chat"], budget: { monthly_usd: (10 * PER_REQUEST) / 1e6 } });
    open = await createKey(stack, tenant.id, { scopes: ["chat"] });
    reader = (await createKey(stack, tenant.id, { scopes: ["usage:read"] })).key;
    hook = await endpointFor(tenant);
  });

  it("80 parallel requests (20 on the capped key, 60 on the other): each threshold crossed fires exactly once, signed, none other", async () => {
    const a = openaiClient(stack, capped.key);
    const b = openaiClient(stack, open.key);
    const outcomes = await Promise.allSettled([...Array.from({ length: 20 }, () => ask(a)), ...Array.from({ length: 60 }, () => ask(b))]);
    const fromA = outcomes.slice(0, 20);
    expect(fromA.filter((o) => o.status === "fulfilled")).toHaveLength(10);
    for (const o of fromA.filter((o) => o.status === "rejected")) expect(o.reason).toMatchObject({ status: 429, code: "insufficient_quota" });
    expect(outcomes.slice(20).filter((o) => o.status === "fulfilled")).toHaveLength(60);

    // 70 requests recorded: key A at 100 % of its budget, the tenant at 490000 / 500000 = 98 % of its own.
    await eventually(async () => ((await spendOf(reader)) === 70 * PER_REQUEST ? true : null), 30_000, "the usage recorded");
    await hook.receiver.waitFor(5, 30_000);
    events = await verified(await drained(tenant.id, hook.receiver), hook.secret);

    expect(events.map((e) => e.type)).toEqual(Array(5).fill("billing.budget_threshold"));
    const fired = events.map((e) => [e.data.subject, e.data.threshold_pct]).sort();
    expect(fired).toEqual(
      [
        [`key:${capped.id}`, 50],
        [`key:${capped.id}`, 80],
        [`key:${capped.id}`, 100],
        [`tenant:${tenant.id}`, 50],
        [`tenant:${tenant.id}`, 80],
      ].sort(),
    );
    expect(new Set(events.map((e) => e.id)).size).toBe(5);
    for (const e of events) {
      const key = e.data.subject === `key:${capped.id}`;
      expect(e.data).toMatchObject({ period: month, budget_micros: key ? 10 * PER_REQUEST : 500_000 });
      expect(e.data.id).toMatch(/^alrt_/);
      // The spend seen when it fired had reached the threshold.
      expect(e.data.spend_micros! * 100).toBeGreaterThanOrEqual(e.data.budget_micros! * e.data.threshold_pct!);
    }
  });

  it("the audit log has exactly one entry per alert, as system:billing, naming the subject, threshold and period", async () => {
    const audit = await auditOf(tenant.id);
    expect(audit).toHaveLength(5);
    expect(audit.map((e) => [e.action, e.target_type, e.target_id, e.details["threshold"]]).sort()).toEqual(
      events.map((e) => ["billing.budget_threshold", "budget", e.data.subject, String(e.data.threshold_pct)]).sort(),
    );
    for (const e of audit) {
      expect(e).toMatchObject({ actor: "system:billing", tenant_id: tenant.id, details: { period: month } });
      expect(events.map((x) => x.data.id)).toContain(e.details["alert_id"]);
    }
    const rows = await (
      await d1(stack, "billing")
    )
      .prepare(
        "SELECT subject, threshold, period, notified_at IS NOT NULL AS notified, audited_at IS NOT NULL AS audited FROM billing_alerts WHERE tenant_id = ?",
      )
      .bind(tenant.id)
      .all<{ subject: string; threshold: string; period: string; notified: number; audited: number }>();
    expect(rows.results).toHaveLength(5);
    expect(rows.results.every((r) => r.period === month && r.notified === 1 && r.audited === 1)).toBe(true);
  });

  it("more traffic in the same month fires nothing again", async () => {
    await ask(openaiClient(stack, open.key));
    await eventually(async () => ((await spendOf(reader)) === 71 * PER_REQUEST ? true : null), 30_000, "the usage recorded");
    // The tenant is now at 497000 / 500000: still below 100 %.
    expect((await verified(await drained(tenant.id, hook.receiver), hook.secret)).map((e) => e.id)).toEqual(events.map((e) => e.id));
    expect(await auditOf(tenant.id)).toHaveLength(5);
  });
});

describe("billing.credits_low and GET /v1/credits", () => {
  let tenant: Tenant;
  let chat: string;
  let reader: string;
  let hook: { receiver: WebhookReceiver; secret: string };
  let firstGrant: { id: string; expires_at: number };
  const expiresAt = Math.floor(Date.now() / 1000) + 30 * 86_400;

  beforeAll(async () => {
    tenant = await createTenant(stack, { name: "alerts-credits" });
    chat = (await createKey(stack, tenant.id, { scopes: ["chat"] })).key;
    reader = (await createKey(stack, tenant.id, { scopes: ["usage:read"] })).key;
    hook = await endpointFor(tenant);
  });

  it("the floor is set per tenant (admin): validated, audited, shown with the balance; the default is 10 % of the newest grant", async () => {
    await expectError(await adminFetch(stack, "/admin/tenants/ten_nope/credits/settings", { method: "PUT", body: { low_balance_usd: 1 } }), 404, "not_found");
    const bad = await adminFetch(stack, `/admin/tenants/${tenant.id}/credits/settings`, { method: "PUT", body: { low_balance_usd: -1 } });
    expect((await expectError(bad, 400, "invalid_request")).param).toBe("low_balance_usd");

    firstGrant = await json(
      await adminFetch(stack, `/admin/tenants/${tenant.id}/credits`, { body: { amount_usd: (60 * PER_REQUEST) / 1e6, expires_at: expiresAt } }),
      201,
    );
    const byDefault = await json<{ low_balance_micros: number; low_balance_default: boolean }>(await adminFetch(stack, `/admin/tenants/${tenant.id}/credits`));
    expect(byDefault).toMatchObject({ low_balance_micros: 6 * PER_REQUEST, low_balance_default: true });
    const set = await json<{ low_balance_micros: number; low_balance_default: boolean }>(
      await adminFetch(stack, `/admin/tenants/${tenant.id}/credits/settings`, { method: "PUT", body: { low_balance_usd: 0.1 } }),
    );
    expect(set).toMatchObject({ low_balance_micros: 100_000, low_balance_default: false });
    const audit = await json<{ data: AuditEntry[] }>(await gatewayFetch(stack, `/admin/audit-log?limit=20`, { admin: true }));
    expect(audit.data.map((e) => [e.action, e.target_id])).toContainEqual(["credits.settings", tenant.id]);
    await afterCreditChange(stack);
  });

  it("80 parallel requests against credits covering 60: one credits_low when the balance passes the floor, signed, audited once", async () => {
    const client = openaiClient(stack, chat);
    const outcomes = await Promise.allSettled(Array.from({ length: 80 }, () => ask(client)));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(60);
    await eventually(async () => ((await spendOf(reader)) === 60 * PER_REQUEST ? true : null), 30_000, "the usage recorded");
    await hook.receiver.waitFor(1, 30_000);
    const events = await verified(await drained(tenant.id, hook.receiver), hook.secret);
    expect(events).toHaveLength(1);
    expect(events[0]).toMatchObject({
      type: "billing.credits_low",
      data: { subject: `tenant:${tenant.id}`, period: firstGrant.id, floor_micros: 100_000 },
    });
    expect(events[0]!.data.balance_micros).toBeLessThan(100_000);
    const audit = await auditOf(tenant.id);
    expect(audit.map((e) => [e.action, e.actor, e.target_type, e.target_id, e.details["period"]])).toEqual([
      ["billing.credits_low", "system:billing", "credits", `tenant:${tenant.id}`, firstGrant.id],
    ]);
  });

  it("GET /v1/credits: the balance, each grant with its expiry and the usage drawn; own tenant only, usage:read only", async () => {
    const mine = await json<{
      tenant_id: string;
      balance_micros: number;
      drawn_micros: number;
      grants: { id: string; expires_at: number | null; amount_micros: number; drawn_micros: number; remaining_micros: number; expired: boolean }[];
    }>(await gatewayFetch(stack, "/v1/credits", { key: reader }));
    expect(mine).toMatchObject({
      object: "credit_balance",
      tenant_id: tenant.id,
      balance_micros: 0,
      drawn_micros: 60 * PER_REQUEST,
      low_balance_micros: 100_000,
    });
    expect(mine.grants).toEqual([
      {
        id: firstGrant.id,
        object: "credit_grant",
        tenant_id: tenant.id,
        amount_micros: 60 * PER_REQUEST,
        expires_at: expiresAt,
        created_at: expect.any(Number),
        drawn_micros: 60 * PER_REQUEST,
        remaining_micros: 0,
        expired: false,
      },
    ]);
    // Another tenant sees only its own (no grants), never this one's.
    const other = await createTenant(stack, { name: "alerts-other" });
    const otherReader = (await createKey(stack, other.id, { scopes: ["usage:read"] })).key;
    const theirs = await json<{ tenant_id: string; grants: unknown[]; balance_micros: number }>(await gatewayFetch(stack, "/v1/credits", { key: otherReader }));
    expect(theirs).toMatchObject({ tenant_id: other.id, grants: [], balance_micros: 0 });
    await expectError(await gatewayFetch(stack, "/v1/credits", { key: chat }), 403, "permission_denied");
  });

  it("a new grant re-arms the alert: spent below the floor again, one more credits_low for that grant", async () => {
    const second = await json<{ id: string }>(
      await adminFetch(stack, `/admin/tenants/${tenant.id}/credits`, { body: { amount_usd: (20 * PER_REQUEST) / 1e6 } }),
      201,
    );
    await afterCreditChange(stack);
    const client = openaiClient(stack, chat);
    const outcomes = await Promise.allSettled(Array.from({ length: 30 }, () => ask(client)));
    expect(outcomes.filter((o) => o.status === "fulfilled")).toHaveLength(20);
    await eventually(async () => ((await spendOf(reader)) === 80 * PER_REQUEST ? true : null), 30_000, "the usage recorded");
    await hook.receiver.waitFor(3, 30_000); // the first alert, the first barrier, this one
    const events = await verified(await drained(tenant.id, hook.receiver), hook.secret);
    expect(events.map((e) => [e.type, e.data.period])).toEqual([
      ["billing.credits_low", firstGrant.id],
      ["billing.credits_low", second.id],
    ]);
    expect((await auditOf(tenant.id)).map((e) => e.details["period"]).sort()).toEqual([firstGrant.id, second.id].sort());
  });
});
