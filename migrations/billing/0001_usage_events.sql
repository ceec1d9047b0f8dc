-- Usage metering: one row per request (idempotent by request_id) and monthly rollups.
--
-- The usage-events Queue delivers at least once, so the consumer inserts with
-- `ON CONFLICT(request_id) DO NOTHING`; the rollup is maintained by a trigger that fires only when
-- a row is really inserted, so a redelivered event changes neither the events nor the rollups.

CREATE TABLE usage_events (
  request_id         TEXT    PRIMARY KEY,
  tenant_id          TEXT    NOT NULL,
  key_id             TEXT    NOT NULL,
  operation          TEXT    NOT NULL,
  requested_model    TEXT    NOT NULL,
  provider           TEXT,
  model              TEXT,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  reasoning_tokens   INTEGER NOT NULL,
  total_tokens       INTEGER NOT NULL,
  status             INTEGER NOT NULL,
  stream             INTEGER NOT NULL,  -- 0/1
  aborted            INTEGER NOT NULL,  -- 0/1
  upstream_error     INTEGER NOT NULL,  -- 0/1
  latency_ms         REAL    NOT NULL,
  ttfb_ms            REAL,
  started_at         INTEGER NOT NULL,  -- epoch ms
  tags               TEXT    NOT NULL DEFAULT '{}',  -- JSON object of strings
  -- Integer micro-dollars (1e-6 USD); 0 when the model has no price (priced = 0).
  cost_usd_micros    INTEGER NOT NULL,
  priced             INTEGER NOT NULL,  -- 0/1: a price was found for the model
  -- Calendar month (UTC) of started_at, 'YYYY-MM': the budget and invoice period.
  month              TEXT    NOT NULL,
  received_at        INTEGER NOT NULL   -- epoch ms, when billing stored it
);

CREATE INDEX usage_events_tenant_month ON usage_events (tenant_id, month, started_at);
CREATE INDEX usage_events_key_month ON usage_events (key_id, month, started_at);

-- One row per (month, tenant, key, model): what invoices and budget dashboards read.
CREATE TABLE usage_monthly (
  month              TEXT    NOT NULL,
  tenant_id          TEXT    NOT NULL,
  key_id             TEXT    NOT NULL,
  model              TEXT    NOT NULL,  -- served model, else the requested one
  requests           INTEGER NOT NULL,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  reasoning_tokens   INTEGER NOT NULL,
  total_tokens       INTEGER NOT NULL,
  cost_usd_micros    INTEGER NOT NULL,
  PRIMARY KEY (month, tenant_id, key_id, model)
);

CREATE INDEX usage_monthly_tenant ON usage_monthly (tenant_id, month);

CREATE TRIGGER usage_events_rollup AFTER INSERT ON usage_events
BEGIN
  INSERT INTO usage_monthly (month, tenant_id, key_id, model, requests, prompt_tokens, completion_tokens,
                             cached_tokens, reasoning_tokens, total_tokens, cost_usd_micros)
  VALUES (NEW.month, NEW.tenant_id, NEW.key_id, COALESCE(NEW.model, NEW.requested_model), 1, NEW.prompt_tokens,
          NEW.completion_tokens, NEW.cached_tokens, NEW.reasoning_tokens, NEW.total_tokens, NEW.cost_usd_micros)
  ON CONFLICT (month, tenant_id, key_id, model) DO UPDATE SET
    requests          = requests + 1,
    prompt_tokens     = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens,
    cached_tokens     = cached_tokens + excluded.cached_tokens,
    reasoning_tokens  = reasoning_tokens + excluded.reasoning_tokens,
    total_tokens      = total_tokens + excluded.total_tokens,
    cost_usd_micros   = cost_usd_micros + excluded.cost_usd_micros;
END;

-- Prices per model, in integer micro-dollars per million tokens ($2.50 / 1M = 2500000).
-- `model` is the upstream model id ('gpt-4o-mini'), optionally pinned to a provider
-- ('groq/llama-3.3-70b-versatile'); '*' is an optional catch-all for models without their own row.
CREATE TABLE prices (
  model                          TEXT    PRIMARY KEY,
  provider                       TEXT,
  input_per_mtok_micros          INTEGER NOT NULL CHECK (input_per_mtok_micros >= 0),
  output_per_mtok_micros         INTEGER NOT NULL CHECK (output_per_mtok_micros >= 0),
  cached_input_per_mtok_micros   INTEGER CHECK (cached_input_per_mtok_micros >= 0),
  updated_at                     INTEGER NOT NULL
);
