import type Stripe from "stripe";
import type { Invoice } from "../../../shared/src/contracts/invoices";

/**
 * Mirrors a final invoice to Stripe: the tenant's customer (created once), a Stripe invoice with
 * one item per line group, finalised. Every create carries an idempotency key derived from OUR ids
 * (never a tenant-chosen value), so a job retried after any step gets the very objects the first
 * attempt created, and the Stripe invoice id is stored last. Stripe amounts are whole cents: the
 * invoice's total (already rounded to cents) is sent as one item, with the line count in its
 * description; the lines themselves stay on our invoice and its HTML.
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
  await stripe.invoiceItems.create(
    {
      customer,
      invoice: created.id,
      currency: "usd",
      amount: Math.round(invoice.total_micros / 10_000),
      description: `${invoice.number ?? invoice.id}: LLM usage ${new Date(invoice.period_start * 1000).toISOString().slice(0, 7)} (${invoice.lines.length} lines)`,
    },
    { idempotencyKey: `invoice-item-${invoice.id}` },
  );
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
