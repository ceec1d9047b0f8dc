-- Usage rollups by time bucket, for the usage and costs API (/v1/organization/usage/*, /costs):
-- one row per (bucket width, tenant, bucket start, key, model, operation). Like usage_monthly, it is
-- kept by a trigger that fires only when a usage_events row is really inserted (the consumer's
-- ON CONFLICT(request_id) DO NOTHING skips a redelivered event), so a redelivery never counts twice
-- and every rollup sum equals the sum of its events, to the micro-dollar.
--
-- width: 60 (1m), 3600 (1h) or 86400 (1d); bucket_start: unix seconds, a multiple of width (UTC).
-- A request belongs to the bucket of its started_at.

CREATE TABLE usage_rollups (
  width              INTEGER NOT NULL,
  tenant_id          TEXT    NOT NULL,
  bucket_start       INTEGER NOT NULL,
  key_id             TEXT    NOT NULL,
  model              TEXT    NOT NULL,  -- served model, else the requested one (as usage_monthly)
  operation          TEXT    NOT NULL,
  requests           INTEGER NOT NULL,
  prompt_tokens      INTEGER NOT NULL,
  completion_tokens  INTEGER NOT NULL,
  cached_tokens      INTEGER NOT NULL,
  reasoning_tokens   INTEGER NOT NULL,
  total_tokens       INTEGER NOT NULL,
  cost_usd_micros    INTEGER NOT NULL,
  PRIMARY KEY (width, tenant_id, bucket_start, key_id, model, operation)
);

-- The admin's queries over every tenant read by time.
CREATE INDEX usage_rollups_time ON usage_rollups (width, bucket_start);

CREATE TRIGGER usage_events_rollup_buckets AFTER INSERT ON usage_events
BEGIN
  INSERT INTO usage_rollups (width, tenant_id, bucket_start, key_id, model, operation, requests, prompt_tokens,
                             completion_tokens, cached_tokens, reasoning_tokens, total_tokens, cost_usd_micros)
  SELECT w.width, NEW.tenant_id, (NEW.started_at / 1000 / w.width) * w.width, NEW.key_id,
         COALESCE(NEW.model, NEW.requested_model), NEW.operation, 1, NEW.prompt_tokens, NEW.completion_tokens,
         NEW.cached_tokens, NEW.reasoning_tokens, NEW.total_tokens, NEW.cost_usd_micros
  FROM (SELECT 60 AS width UNION ALL SELECT 3600 UNION ALL SELECT 86400) AS w
  WHERE true
  ON CONFLICT (width, tenant_id, bucket_start, key_id, model, operation) DO UPDATE SET
    requests          = requests + 1,
    prompt_tokens     = prompt_tokens + excluded.prompt_tokens,
    completion_tokens = completion_tokens + excluded.completion_tokens,
    cached_tokens     = cached_tokens + excluded.cached_tokens,
    reasoning_tokens  = reasoning_tokens + excluded.reasoning_tokens,
    total_tokens      = total_tokens + excluded.total_tokens,
    cost_usd_micros   = cost_usd_micros + excluded.cost_usd_micros;
END;

-- Events stored before this migration, rolled up once.
INSERT INTO usage_rollups (width, tenant_id, bucket_start, key_id, model, operation, requests, prompt_tokens,
                           completion_tokens, cached_tokens, reasoning_tokens, total_tokens, cost_usd_micros)
SELECT w.width, e.tenant_id, (e.started_at / 1000 / w.width) * w.width AS bucket, e.key_id,
       COALESCE(e.model, e.requested_model) AS m, e.operation, COUNT(*), SUM(e.prompt_tokens), SUM(e.completion_tokens),
       SUM(e.cached_tokens), SUM(e.reasoning_tokens), SUM(e.total_tokens), SUM(e.cost_usd_micros)
FROM usage_events e, (SELECT 60 AS width UNION ALL SELECT 3600 UNION ALL SELECT 86400) AS w
GROUP BY w.width, e.tenant_id, bucket, e.key_id, m, e.operation;
