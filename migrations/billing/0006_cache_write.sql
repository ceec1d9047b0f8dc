-- Cache writes as their own kind of token, with their own price.
--
-- Anthropic reports prompt tokens written to its prompt cache (`cache_creation_input_tokens`)
-- beside `input_tokens` and bills them at a premium: 1.25x the input price for the default
-- 5-minute cache (2x for the 1-hour cache, which is not modelled: priced at the 5-minute rate).
-- The gateway's normalised usage (workers/shared/src/token-usage.ts) counts them inside
-- prompt_tokens, like cache reads (cached_tokens), and reports them as cache_write_tokens; the
-- price rule (workers/shared/src/pricing.ts `costMicros`) charges
--   uncached × input + cached × cached_input + cache_write × cache_write + completion × output,
-- a NULL cache_write price meaning the input price (OpenAI and Gemini charge no write premium).

ALTER TABLE prices ADD COLUMN cache_write_per_mtok_micros INTEGER CHECK (cache_write_per_mtok_micros >= 0);

-- Seed: Anthropic's published 5-minute cache-write prices per 1M tokens (USD; 1.25x input, Claude 3
-- Haiku's list price rounded by Anthropic to $0.30),
-- as listed on Anthropic's pricing page, for the Anthropic models 0002 seeded. A row is only
-- updated while its input price is still the seeded one: an operator's own price is left alone.
UPDATE prices SET cache_write_per_mtok_micros = 6250000 WHERE provider = 'anthropic' AND input_per_mtok_micros = 5000000
  AND model IN ('claude-opus-5', 'claude-opus-4-7', 'claude-opus-4-6', 'claude-opus-4-5');
UPDATE prices SET cache_write_per_mtok_micros = 2500000 WHERE provider = 'anthropic' AND input_per_mtok_micros = 2000000
  AND model IN ('claude-sonnet-5');
UPDATE prices SET cache_write_per_mtok_micros = 18750000 WHERE provider = 'anthropic' AND input_per_mtok_micros = 15000000
  AND model IN ('claude-opus-4-1', 'claude-opus-4-0', 'claude-opus-4', 'claude-3-opus');
UPDATE prices SET cache_write_per_mtok_micros = 3750000 WHERE provider = 'anthropic' AND input_per_mtok_micros = 3000000
  AND model IN ('claude-sonnet-4-6', 'claude-sonnet-4-5', 'claude-sonnet-4-0', 'claude-sonnet-4', 'claude-3-7-sonnet', 'claude-3-5-sonnet');
UPDATE prices SET cache_write_per_mtok_micros = 1250000 WHERE provider = 'anthropic' AND input_per_mtok_micros = 1000000
  AND model IN ('claude-haiku-4-5');
UPDATE prices SET cache_write_per_mtok_micros = 1000000 WHERE provider = 'anthropic' AND input_per_mtok_micros = 800000
  AND model IN ('claude-3-5-haiku');
UPDATE prices SET cache_write_per_mtok_micros = 300000 WHERE provider = 'anthropic' AND input_per_mtok_micros = 250000
  AND model IN ('claude-3-haiku');

-- The count on every event and in every rollup (0 for events stored before: none was metered).
ALTER TABLE usage_events ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_monthly ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;
ALTER TABLE usage_rollups ADD COLUMN cache_write_tokens INTEGER NOT NULL DEFAULT 0;

-- The rollup triggers (0001, 0005) again, now also summing cache_write_tokens. They still fire only
-- for a row really inserted (the consumer's ON CONFLICT(request_id) DO NOTHING), so a redelivered
-- event changes no rollup.
DROP TRIGGER usage_events_rollup;
CREATE TRIGGER usage_events_rollup AFTER INSERT ON usage_events
BEGIN
  INSERT INTO usage_monthly (month, tenant_id, key_id, model, requests, prompt_tokens, completion_tokens,
                             cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens, cost_usd_micros)
  VALUES (NEW.month, NEW.tenant_id, NEW.key_id, COALESCE(NEW.model, NEW.requested_model), 1, NEW.prompt_tokens,
          NEW.completion_tokens, NEW.cached_tokens, NEW.cache_write_tokens, NEW.reasoning_tokens, NEW.total_tokens,
          NEW.cost_usd_micros)
  ON CONFLICT (month, tenant_id, key_id, model) DO UPDATE SET
    requests           = requests + 1,
    prompt_tokens      = prompt_tokens + excluded.prompt_tokens,
    completion_tokens  = completion_tokens + excluded.completion_tokens,
    cached_tokens      = cached_tokens + excluded.cached_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    reasoning_tokens   = reasoning_tokens + excluded.reasoning_tokens,
    total_tokens       = total_tokens + excluded.total_tokens,
    cost_usd_micros    = cost_usd_micros + excluded.cost_usd_micros;
END;

DROP TRIGGER usage_events_rollup_buckets;
CREATE TRIGGER usage_events_rollup_buckets AFTER INSERT ON usage_events
BEGIN
  INSERT INTO usage_rollups (width, tenant_id, bucket_start, key_id, model, operation, requests, prompt_tokens,
                             completion_tokens, cached_tokens, cache_write_tokens, reasoning_tokens, total_tokens,
                             cost_usd_micros)
  SELECT w.width, NEW.tenant_id, (NEW.started_at / 1000 / w.width) * w.width, NEW.key_id,
         COALESCE(NEW.model, NEW.requested_model), NEW.operation, 1, NEW.prompt_tokens, NEW.completion_tokens,
         NEW.cached_tokens, NEW.cache_write_tokens, NEW.reasoning_tokens, NEW.total_tokens, NEW.cost_usd_micros
  FROM (SELECT 60 AS width UNION ALL SELECT 3600 UNION ALL SELECT 86400) AS w
  WHERE true
  ON CONFLICT (width, tenant_id, bucket_start, key_id, model, operation) DO UPDATE SET
    requests           = requests + 1,
    prompt_tokens      = prompt_tokens + excluded.prompt_tokens,
    completion_tokens  = completion_tokens + excluded.completion_tokens,
    cached_tokens      = cached_tokens + excluded.cached_tokens,
    cache_write_tokens = cache_write_tokens + excluded.cache_write_tokens,
    reasoning_tokens   = reasoning_tokens + excluded.reasoning_tokens,
    total_tokens       = total_tokens + excluded.total_tokens,
    cost_usd_micros    = cost_usd_micros + excluded.cost_usd_micros;
END;
