import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startCoreStack } from "../fake-upstream/stack";
import { startFakeStripe, type FakeStripe } from "../fake-stripe/server";
import { nextMonthStart, runBillingCron } from "../support/billing";
import { clientFor } from "../support/clients";
import { expectError } from "../support/errors";
import { gatewayFetch } from "../support/fetch";
import { uniqueModel } from "../support/names";
import { afterPriceChange } from "../support/propagation";
import type { Stack } from "../support/stack";
import { d1 } from "../support/stores";
import { adminFetch } from "../support/tenants";
import { eventually } from "../support/wait";

let stack: Stack;
let stripe: FakeStripe;
let close: () => Promise<void>;
beforeAll(async () => {
  stripe = await startFakeStripe();
  ({ stack, close } = await startCoreStack({
    vars: {
      billing: {
        STRIPE_SECRET_KEY: stripe.secretKey,
        STRIPE_WEBHOOK_SECRET: stripe.webhookSecret,
        STRIPE_API_HOST: stripe.host,
        STRIPE_API_PORT: String(stripe.port),
        STRIPE_API_PROTOCOL: "http",
      },
    },
  }));
});
afterAll(async () => {
  await close?.();
  await stripe?.close();
});

interface Invoice {
  id: string;
  number: string;
  status: string;
  period_start: number;
  period_end: number;
  lines: { model: string; kind: string; quantity: number; unit_price_micros_per_mtok: number; amount_micros: number; price_version: number | null }[];
  subtotal_micros: number;
  total_micros: number;
  payment_status: string;
}

describe("Stripe: customer and invoice mirrored once, webhooks verified and processed once", () => {
  let a: Awaited<ReturnType<typeof clientFor>>;
  let invoice: Invoice;
  let stripeInvoiceId: string;
  const cronAt = new Date(nextMonthStart(Date.now()) + 2 * 3_600_000);
  const webhookUrl = () => `${stack.url}/webhooks/stripe`;
  const current = async () => (await (await gatewayFetch(stack, `/v1/invoices/${invoice.id}`, { key: a.apiKey })).json()) as Invoice;

  beforeAll(async () => {
    a = await clientFor(stack, { scopes: ["chat", "usage:read"] });
    const model = uniqueModel("stripe-chat");
    expect((await adminFetch(stack, `/admin/prices/${model}`, { method: "PUT", body: { input_per_mtok: 2000, output_per_mtok: 6000 } })).status).toBe(201);
    await afterPriceChange(stack);
    const ids: string[] = [];
    for (let i = 0; i < 3; i++) {
      const { response } = await a.client.chat.completions.create({ model: `fake/${model}`, messages: [{ role: "user", content: "hi" }] }).withResponse();
      ids.push(response.headers.get("x-request-id")!);
    }
    for (const id of ids) {
      await eventually(async () => ((await gatewayFetch(stack, `/v1/usage/requests/${id}`, { key: a.apiKey })).status === 200 ? true : null), 20_000, id);
    }
  });

  it("the cron finalises the month and mirrors it: one customer, one invoice with one item per line summing to the total in cents, finalised", async () => {
    await runBillingCron(stack, cronAt);
    const list = (await (await gatewayFetch(stack, "/v1/invoices", { key: a.apiKey })).json()) as { data: Invoice[] };
    invoice = list.data[0]!;
    expect(invoice).toMatchObject({ status: "final", payment_status: "pending" });
    expect(invoice.total_micros).toBeGreaterThan(0);
    expect([...stripe.customers.values()].map((c) => c["metadata"])).toEqual([{ tenant_id: a.tenant.id }]);
    const invoices = [...stripe.invoices.values()];
    expect(invoices).toHaveLength(1);
    expect(invoices[0]).toMatchObject({ status: "open", metadata: { invoice_id: invoice.id, number: invoice.number }, total: invoice.total_micros / 10_000 });
    stripeInvoiceId = invoices[0]!["id"] as string;
    // One item per invoice line (model × price version × kind), in order, each its line's µ$ in cents (half up) with the exact line in metadata.
    expect(invoice.lines.map((l) => l.kind)).toEqual(["input", "output"]);
    const items = [...stripe.invoiceItems.values()];
    expect(items).toEqual(
      invoice.lines.map((l, i) =>
        expect.objectContaining({
          object: "invoiceitem",
          invoice: stripeInvoiceId,
          customer: invoices[0]!["customer"],
          currency: "usd",
          amount: Math.floor((l.amount_micros + 5_000) / 10_000),
          description: expect.stringContaining(`${l.model} · ${l.kind}: ${l.quantity} tokens`),
          period: { start: invoice.period_start, end: invoice.period_end - 1 },
          metadata: {
            invoice_id: invoice.id,
            line: String(i),
            model: l.model,
            kind: l.kind,
            quantity: String(l.quantity),
            unit_price_micros_per_mtok: String(l.unit_price_micros_per_mtok),
            amount_micros: String(l.amount_micros),
            price_version: String(l.price_version),
          },
        }),
      ),
    );
    // 3 requests × (24 prompt × $2000 + 7 completion × $6000 per 1M): input 144000 µ$ → 14 ¢, output 126000 µ$ → 13 ¢ = the total, 27 ¢.
    expect(items.map((i) => i["amount"])).toEqual([14, 13]);
    expect(invoice.total_micros).toBe(270_000);
    expect((invoices[0]!["lines"] as { data: unknown[] }).data).toHaveLength(2);
    // Every create carried an idempotency key.
    expect(stripe.requests.filter((r) => r.method === "POST").every((r) => r.idempotencyKey !== null)).toBe(true);
  });

  it("a retried job (crashed before it stored Stripe's id) creates nothing twice: the same idempotency keys get the same objects", async () => {
    const db = await d1(stack, "billing");
    await db.prepare("UPDATE invoices SET stripe_invoice_id = NULL WHERE id = ?").bind(invoice.id).run();
    const before = stripe.requests.length;
    await runBillingCron(stack, cronAt);
    await runBillingCron(stack, cronAt);
    expect(stripe.customers.size).toBe(1);
    expect(stripe.invoices.size).toBe(1);
    expect(stripe.invoiceItems.size).toBe(2);
    expect(stripe.invoices.get(stripeInvoiceId)!["total"]).toBe(27);
    const retried = stripe.requests.slice(before).map((r) => r.idempotencyKey);
    // The retry posts the same keys, one per line, and Stripe answers with what the first run made; the next run has nothing to do.
    expect(retried).toEqual([
      `invoice-${invoice.id}`,
      `invoice-item-${invoice.id}-line-0`,
      `invoice-item-${invoice.id}-line-1`,
      `invoice-finalize-${invoice.id}`,
    ]);
    const row = await db.prepare("SELECT stripe_invoice_id FROM invoices WHERE id = ?").bind(invoice.id).first<{ stripe_invoice_id: string }>();
    expect(row?.stripe_invoice_id).toBe(stripeInvoiceId);
  });

  it("a webhook with a bad signature is a 400 and changes nothing", async () => {
    const res = await stripe.sendWebhook(
      webhookUrl(),
      { id: "evt_bad_1", type: "invoice.paid", object: { id: stripeInvoiceId, object: "invoice" } },
      "whsec_wrong",
    );
    expect((await expectError(res, 400, "invalid_request")).param).toBe("stripe-signature");
    const unsigned = await fetch(webhookUrl(), { method: "POST", body: "{}" });
    await expectError(unsigned, 400, "invalid_request");
    expect((await current()).payment_status).toBe("pending");
  });

  it("a signed invoice.paid marks it paid; a replayed event changes nothing", async () => {
    const paid = { id: "evt_paid_1", type: "invoice.paid", object: { id: stripeInvoiceId, object: "invoice", status: "paid" } };
    const res = await stripe.sendWebhook(webhookUrl(), paid);
    expect(res.status).toBe(200);
    expect(await res.json()).toEqual({ received: true, processed: true });
    expect((await current()).payment_status).toBe("paid");

    const replay = await stripe.sendWebhook(webhookUrl(), paid);
    expect(await replay.json()).toEqual({ received: true, processed: false });
    // The same event id carrying another type (a forged replay) is not processed either.
    const forged = await stripe.sendWebhook(webhookUrl(), { ...paid, type: "invoice.payment_failed" });
    expect(await forged.json()).toEqual({ received: true, processed: false });
    expect((await current()).payment_status).toBe("paid");
  });
});
