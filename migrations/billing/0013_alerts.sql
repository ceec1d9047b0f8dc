-- Budget and credit alerts (issue 14). One row per alert that fired: UNIQUE (subject, threshold,
-- period) is the de-duplication. Every writer that sees a threshold crossed INSERTs … ON CONFLICT DO
-- NOTHING … RETURNING, and only the writer whose INSERT returned the row emits the event and the
-- audit row; D1 (one SQLite writer) makes the insert atomic, so concurrent queue consumers cannot
-- both fire the same alert. `notified_at` / `audited_at` form an outbox: a delivery that failed is
-- retried later with the same event id (derived from the alert id) and the same audit row id.
CREATE TABLE billing_alerts (
  id           TEXT    PRIMARY KEY,                         -- alrt_<random>
  type         TEXT    NOT NULL CHECK (type IN ('billing.budget_threshold', 'billing.credits_low')),
  tenant_id    TEXT    NOT NULL,
  subject      TEXT    NOT NULL,                            -- 'tenant:<id>' | 'key:<id>'
  threshold    TEXT    NOT NULL,                            -- '50' | '80' | '100' | 'credits_floor'
  period       TEXT    NOT NULL,                            -- budgets: 'YYYY-MM' (UTC); credits: the newest grant's id
  details      TEXT    NOT NULL,                            -- JSON: the event's data (amounts in µ$)
  created_at   INTEGER NOT NULL,                            -- epoch ms
  notified_at  INTEGER,                                     -- the tenant event was queued (tail's TenantEvents)
  audited_at   INTEGER,                                     -- the audit row was written (auth's BillingAudit)
  UNIQUE (subject, threshold, period)
);

CREATE INDEX billing_alerts_tenant ON billing_alerts (tenant_id, created_at);
CREATE INDEX billing_alerts_outbox ON billing_alerts (created_at) WHERE notified_at IS NULL OR audited_at IS NULL;

-- A prepaid tenant's low-balance floor (admin: PUT /admin/tenants/{id}/credits/settings). Without a
-- row the floor is 10 % of the tenant's newest grant (CREDITS_LOW_DEFAULT_PCT); 0 turns the alert off.
CREATE TABLE credit_settings (
  tenant_id           TEXT    PRIMARY KEY,
  low_balance_micros  INTEGER NOT NULL CHECK (low_balance_micros >= 0),
  updated_at          INTEGER NOT NULL
);
