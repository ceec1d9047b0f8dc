-- Stripe mirroring (issue 14): one Stripe customer per tenant, each final invoice's Stripe invoice,
-- and the ids of Stripe webhook events already processed (each is processed once).
CREATE TABLE stripe_customers (
  tenant_id    TEXT PRIMARY KEY,
  customer_id  TEXT NOT NULL,
  created_at   INTEGER NOT NULL
);

ALTER TABLE invoices ADD COLUMN stripe_invoice_id TEXT;
CREATE UNIQUE INDEX invoices_stripe ON invoices (stripe_invoice_id) WHERE stripe_invoice_id IS NOT NULL;

CREATE TABLE stripe_events (
  id           TEXT PRIMARY KEY,   -- evt_…
  type         TEXT NOT NULL,
  received_at  INTEGER NOT NULL
);
