-- A batch discount per model, as data: the percent taken off a request's cost when it ran as a
-- batch line (usage operation `batch`, tail's Batch API). The one price rule
-- (workers/shared/src/pricing.ts `costMicros`) applies it to the exact integer sum and rounds up
-- once; billing records, the limiter settles and the gateway reports with it.
--
-- 0 (no discount) for every model until an operator sets it (PUT /admin/prices/{model}
-- `batch_discount_pct`): the gateway runs batch lines on the providers' interactive endpoints at
-- their interactive prices, so a discount is the operator's commercial choice, not a vendor fact.
ALTER TABLE prices ADD COLUMN batch_discount_pct INTEGER NOT NULL DEFAULT 0 CHECK (batch_discount_pct BETWEEN 0 AND 100);
