import type Stripe from "stripe";
import type { Invoice, InvoiceLine } from "../../../shared/src/contracts/invoices";

/** Stripe takes at most 250 items per invoice: this many lines get an item each, the rest one item together (2 left for credits and rounding). */
export const MAX_LINE_ITEMS = 247;

/** One Stripe invoice item: its idempotency key (from our ids), amount in whole cents, description and metadata. */
export interface StripeItem {
  key: string;
  amount: number;
  description: string;
  metadata: Record<string, string>;
}

/** µ$ → cents, half away from zero (a discount line is negative). */
const cents = (micros: number): number => Math.sign(micros) * Math.floor((Math.abs(micros) + 5_000) / 10_000);
const usd = (microsPerMtok: number): string => (microsPerMtok / 1e6).toFixed(6).replace(/\.?0+$/, "");

function describe(line: InvoiceLine): string {
  if (line.kind === "rounding") return `${line.model} · per-request round-up of the price rule (${line.quantity} requests)`;
  if (line.kind === "batch_discount") return `${line.model} · batch discount (${line.quantity} tokens)`;
  if (line.kind === "usage") return `${line.model} · usage (${line.quantity} tokens, unpriced version)`;
  return `${line.model} · ${line.kind}: ${line.quantity} tokens × $${usd(line.unit_price_micros_per_mtok)} / 1M tokens (price v${line.price_version ?? "-"})`;
}

/**
 * The Stripe items of a final invoice: one per invoice line (model × price version × kind, and
 * its discount and rounding lines) with the line's amount in cents and the exact line in metadata
 * (quantity, unit price, µ$ amount, price version); then the credits applied (negative); then, when
 * the per-line rounding to cents does not land on the invoice's total (rounded once, at the total),
 * one "rounding to cents" item with the difference — so the Stripe invoice's total is exactly ours.
 * Keys are our invoice id and the line's index (a final invoice's lines never change), so a retried
 * job posts the same keys and Stripe answers with the items it already made.
 */
export function stripeItems(invoice: Invoice): StripeItem[] {
  const items: StripeItem[] = [];
  const base = `invoice-item-${invoice.id}`;
  invoice.lines.slice(0, MAX_LINE_ITEMS).forEach((line, i) => {
    items.push({
      key: `${base}-line-${i}`,
      amount: cents(line.amount_micros),
      description: describe(line),
      metadata: {
        invoice_id: invoice.id,
        line: String(i),
        model: line.model.slice(0, 500),
        kind: line.kind,
        quantity: String(line.quantity),
        unit_price_micros_per_mtok: String(line.unit_price_micros_per_mtok),
        amount_micros: String(line.amount_micros),
        price_version: line.price_version === null ? "" : String(line.price_version),
      },
    });
  });
  const rest = invoice.lines.slice(MAX_LINE_ITEMS);
  if (rest.length > 0) {
    const micros = rest.reduce((n, l) => n + l.amount_micros, 0);
    items.push({
      key: `${base}-lines-rest`,
      amount: cents(micros),
      description: `Other usage (${rest.length} more lines, listed on invoice ${invoice.number ?? invoice.id})`,
      metadata: { invoice_id: invoice.id, lines: String(rest.length), amount_micros: String(micros) },
    });
  }
  if (invoice.credits_applied_micros > 0) {
    items.push({
      key: `${base}-credits`,
      amount: -cents(invoice.credits_applied_micros),
      description: "Prepaid credits applied",
      metadata: { invoice_id: invoice.id, amount_micros: String(-invoice.credits_applied_micros) },
    });
  }
  const difference = invoice.total_micros / 10_000 - items.reduce((n, it) => n + it.amount, 0);
  if (difference !== 0) {
    items.push({ key: `${base}-rounding`, amount: difference, description: "Rounding to cents", metadata: { invoice_id: invoice.id } });
  }
  return items;
}

/**
 * Mirrors a final invoice to Stripe: the tenant's customer (created once), a Stripe invoice with
 * one item per invoice line (`stripeItems`), finalised. Every create carries an idempotency key
 * derived from OUR ids (never a tenant-chosen value), so a job retried after any step gets the very
 * objects the first attempt created, and the Stripe invoice id is stored last.
 */
export async function mirrorInvoice(db: D1Database, stripe: Stripe, invoice: Invoice, now: number): Promise<string | null> {
  if (invoice.status !== "final" || invoice.total_micros <= 0) return null;
  const stored = await db.prepare("SELECT stripe_invoice_id FROM invoices WHERE id = ?").bind(invoice.id).first<{ stripe_invoice_id: string | null }>();
  if (stored?.stripe_invoice_id) return stored.stripe_invoice_id;
  const customer = await customerOf(db, stripe, invoice.tenant_id, now);
  const created = await stripe.invoices.create(
    {
      customer,
      currency: "usd",
      collection_method: "send_invoice",
      days_until_due: 30,
      auto_advance: false,
      pending_invoice_items_behavior: "exclude",
      metadata: { invoice_id: invoice.id, number: invoice.number ?? "" },
    },
    { idempotencyKey: `invoice-${invoice.id}` },
  );
  const period = { start: invoice.period_start, end: invoice.period_end - 1 };
  // In order, one at a time: Stripe lists an invoice's items in the order they were added.
  for (const item of stripeItems(invoice)) {
    await stripe.invoiceItems.create(
      { customer, invoice: created.id, currency: "usd", amount: item.amount, description: item.description, metadata: item.metadata, period },
      { idempotencyKey: item.key },
    );
  }
  await stripe.invoices.finalizeInvoice(created.id, {}, { idempotencyKey: `invoice-finalize-${invoice.id}` });
  await db
    .prepare("UPDATE invoices SET stripe_invoice_id = ?, payment_status = 'pending' WHERE id = ? AND stripe_invoice_id IS NULL")
    .bind(created.id, invoice.id)
    .run();
  return created.id;
}

async function customerOf(db: D1Database, stripe: Stripe, tenantId: string, now: number): Promise<string> {
  const row = await db.prepare("SELECT customer_id FROM stripe_customers WHERE tenant_id = ?").bind(tenantId).first<{ customer_id: string }>();
  if (row) return row.customer_id;
  const customer = await stripe.customers.create(
    { description: `Tenant ${tenantId}`, metadata: { tenant_id: tenantId } },
    { idempotencyKey: `customer-${tenantId}` },
  );
  await db
    .prepare("INSERT INTO stripe_customers (tenant_id, customer_id, created_at) VALUES (?, ?, ?) ON CONFLICT DO NOTHING")
    .bind(tenantId, customer.id, now)
    .run();
  return customer.id;
}
