-- Invoices (issue 14): price versions, the price version each usage event was billed at, invoices
-- and credit notes.
--
-- Price versions: every write of a `prices` row (insert, or the upsert's update) adds a version row
-- with the rates it set, numbered 1, 2, … per model by the triggers below; the current rows are
-- version 1. The consumer records on each usage event the price row (`price_model`) and version it
-- priced the event with, so an invoice line shows the unit price in force when the usage happened,
-- even after the price changed. Events stored before this migration have no version (their
-- invoice line carries their recorded cost without a unit price).

CREATE TABLE price_versions (
  model                          TEXT    NOT NULL,
  version                        INTEGER NOT NULL,
  provider                       TEXT,
  input_per_mtok_micros          INTEGER NOT NULL,
  output_per_mtok_micros         INTEGER NOT NULL,
  cached_input_per_mtok_micros   INTEGER,
  cache_write_per_mtok_micros    INTEGER,
  batch_discount_pct             INTEGER NOT NULL,
  valid_from                     INTEGER NOT NULL,  -- epoch ms (the price's updated_at)
  PRIMARY KEY (model, version)
);

INSERT INTO price_versions (model, version, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros,
                            cache_write_per_mtok_micros, batch_discount_pct, valid_from)
SELECT model, 1, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros, cache_write_per_mtok_micros,
       batch_discount_pct, updated_at
FROM prices;

CREATE TRIGGER prices_version_insert AFTER INSERT ON prices
BEGIN
  INSERT INTO price_versions (model, version, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros,
                              cache_write_per_mtok_micros, batch_discount_pct, valid_from)
  VALUES (NEW.model, COALESCE((SELECT MAX(version) FROM price_versions WHERE model = NEW.model), 0) + 1, NEW.provider,
          NEW.input_per_mtok_micros, NEW.output_per_mtok_micros, NEW.cached_input_per_mtok_micros, NEW.cache_write_per_mtok_micros,
          NEW.batch_discount_pct, NEW.updated_at);
END;

CREATE TRIGGER prices_version_update AFTER UPDATE ON prices
BEGIN
  INSERT INTO price_versions (model, version, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros,
                              cache_write_per_mtok_micros, batch_discount_pct, valid_from)
  VALUES (NEW.model, COALESCE((SELECT MAX(version) FROM price_versions WHERE model = NEW.model), 0) + 1, NEW.provider,
          NEW.input_per_mtok_micros, NEW.output_per_mtok_micros, NEW.cached_input_per_mtok_micros, NEW.cache_write_per_mtok_micros,
          NEW.batch_discount_pct, NEW.updated_at);
END;

-- The price row and version an event was priced with (NULL: unpriced, or stored before versions).
ALTER TABLE usage_events ADD COLUMN price_model TEXT;
ALTER TABLE usage_events ADD COLUMN price_version INTEGER;

-- Finalised invoices (a draft is computed on read and never stored). Immutable once written: no
-- code path updates lines or amounts; only payment_status and status (void, by Stripe) change.
-- `seq` is the platform-wide invoice number, assigned in the INSERT itself (MAX + 1 in one
-- statement, SQLite's single writer), so numbers have no gaps: nothing allocates a number that a
-- failed write could leave unused. One invoice per tenant and month (UNIQUE), so a retried or
-- concurrent finalisation inserts nothing.
CREATE TABLE invoices (
  id                      TEXT    PRIMARY KEY,          -- in_<random>
  tenant_id               TEXT    NOT NULL,
  seq                     INTEGER NOT NULL UNIQUE,
  period                  TEXT    NOT NULL,             -- 'YYYY-MM' (UTC)
  status                  TEXT    NOT NULL CHECK (status IN ('final', 'void')),
  lines                   TEXT    NOT NULL,             -- JSON array of invoice lines
  subtotal_micros         INTEGER NOT NULL,
  credits_applied_micros  INTEGER NOT NULL,
  total_micros            INTEGER NOT NULL,
  payment_status          TEXT    NOT NULL,
  created_at              INTEGER NOT NULL,
  finalized_at            INTEGER NOT NULL,
  UNIQUE (tenant_id, period)
);

CREATE INDEX invoices_tenant ON invoices (tenant_id, period);

CREATE TRIGGER invoices_immutable BEFORE UPDATE OF tenant_id, seq, period, lines, subtotal_micros, credits_applied_micros, total_micros, created_at, finalized_at ON invoices
BEGIN
  SELECT RAISE(ABORT, 'finalised invoices are immutable');
END;

-- Credit notes: a correction of a finalised invoice, never an edit of it. Numbered in their own
-- gap-free series (CN-000001), the same way.
CREATE TABLE credit_notes (
  id            TEXT    PRIMARY KEY,                    -- cn_<random>
  invoice_id    TEXT    NOT NULL REFERENCES invoices (id),
  tenant_id     TEXT    NOT NULL,
  seq           INTEGER NOT NULL UNIQUE,
  amount_micros INTEGER NOT NULL CHECK (amount_micros > 0),
  reason        TEXT    NOT NULL,
  created_at    INTEGER NOT NULL
);

CREATE INDEX credit_notes_invoice ON credit_notes (invoice_id);
