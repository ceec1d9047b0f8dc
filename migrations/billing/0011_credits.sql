-- Prepaid credits (issue 14): grants of credit to a tenant, with an optional expiry. A tenant with
-- at least one grant is prepaid: its usage from its first grant on is drawn from its credits
-- (oldest expiry first), and the gateway refuses a request whose worst-case cost the balance does
-- not cover (the limiter's budget reservation, see workers/billing/src/credits/store.ts). The
-- balance is never stored: it is the grants minus the recorded usage, so it cannot drift.
CREATE TABLE credit_grants (
  id            TEXT    PRIMARY KEY,                      -- cg_<random>
  tenant_id     TEXT    NOT NULL,
  amount_micros INTEGER NOT NULL CHECK (amount_micros > 0),
  expires_at    INTEGER,                                  -- epoch ms; NULL = never
  created_at    INTEGER NOT NULL                          -- epoch ms
);

CREATE INDEX credit_grants_tenant ON credit_grants (tenant_id, created_at);
