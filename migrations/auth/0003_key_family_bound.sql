-- Self-service keys are bounded as a family: the keys a key created (api_keys.created_by =
-- 'key:<its id>') and that are not revoked may together hold at most what their creator holds, per
-- axis it is bound by (limits rpm, tpm, max_concurrency; budget monthly_usd). A child with no value
-- on an axis its creator is bound by counts as unbounded there, so it never fits. (Dollar sums get
-- 1e-9 of slack: 0.1 + 0.2 is not 0.3 in floating point.)
--
-- Enforced here, in the statement that inserts or changes the child, so it is exact under
-- concurrency: D1 runs one write at a time, and the sum is read inside that write. A violation
-- aborts the statement (and the batch it is in) with 'family_bound:<param>', which the auth Worker
-- turns into a 403 naming <param> (workers/auth/src/admin/keys.ts). Revoked children free their
-- share (a revoked key never comes back). See README "Self-service keys".

CREATE INDEX api_keys_by_creator ON api_keys (created_by) WHERE revoked_at IS NULL;

CREATE TRIGGER api_keys_family_bound_insert BEFORE INSERT ON api_keys
WHEN NEW.created_by LIKE 'key:%' AND NEW.revoked_at IS NULL
BEGIN
  SELECT RAISE(ABORT, 'family_bound:limits.rpm') FROM api_keys p
   WHERE p.id = substr(NEW.created_by, 5) AND json_extract(p.limits, '$.rpm') IS NOT NULL
     AND (json_extract(NEW.limits, '$.rpm') IS NULL OR json_extract(NEW.limits, '$.rpm') + (SELECT COALESCE(SUM(json_extract(c.limits, '$.rpm')), 0) FROM api_keys c
           WHERE c.created_by = NEW.created_by AND c.revoked_at IS NULL AND c.id <> NEW.id) > json_extract(p.limits, '$.rpm'));
  SELECT RAISE(ABORT, 'family_bound:limits.tpm') FROM api_keys p
   WHERE p.id = substr(NEW.created_by, 5) AND json_extract(p.limits, '$.tpm') IS NOT NULL
     AND (json_extract(NEW.limits, '$.tpm') IS NULL OR json_extract(NEW.limits, '$.tpm') + (SELECT COALESCE(SUM(json_extract(c.limits, '$.tpm')), 0) FROM api_keys c
           WHERE c.created_by = NEW.created_by AND c.revoked_at IS NULL AND c.id <> NEW.id) > json_extract(p.limits, '$.tpm'));
  SELECT RAISE(ABORT, 'family_bound:limits.max_concurrency') FROM api_keys p
   WHERE p.id = substr(NEW.created_by, 5) AND json_extract(p.limits, '$.max_concurrency') IS NOT NULL
     AND (json_extract(NEW.limits, '$.max_concurrency') IS NULL OR json_extract(NEW.limits, '$.max_concurrency') + (SELECT COALESCE(SUM(json_extract(c.limits, '$.max_concurrency')), 0) FROM api_keys c
           WHERE c.created_by = NEW.created_by AND c.revoked_at IS NULL AND c.id <> NEW.id) > json_extract(p.limits, '$.max_concurrency'));
  SELECT RAISE(ABORT, 'family_bound:budget.monthly_usd') FROM api_keys p
   WHERE p.id = substr(NEW.created_by, 5) AND json_extract(p.budget, '$.monthly_usd') IS NOT NULL
     AND (json_extract(NEW.budget, '$.monthly_usd') IS NULL OR json_extract(NEW.budget, '$.monthly_usd') + (SELECT COALESCE(SUM(json_extract(c.budget, '$.monthly_usd')), 0) FROM api_keys c
           WHERE c.created_by = NEW.created_by AND c.revoked_at IS NULL AND c.id <> NEW.id) > json_extract(p.budget, '$.monthly_usd') + 1e-9);
END;

-- The same check when a child's limits or budget go UP (PATCH by any keys:write key or the admin);
-- lowering is always allowed, even in a family that is over (its creator's bounds were lowered).
CREATE TRIGGER api_keys_family_bound_update BEFORE UPDATE OF limits, budget ON api_keys
WHEN NEW.created_by LIKE 'key:%' AND NEW.revoked_at IS NULL
BEGIN
  SELECT RAISE(ABORT, 'family_bound:limits.rpm') FROM api_keys p
   WHERE p.id = substr(NEW.created_by, 5) AND json_extract(p.limits, '$.rpm') IS NOT NULL
     AND json_extract(OLD.limits, '$.rpm') IS NOT NULL AND (json_extract(NEW.limits, '$.rpm') IS NULL OR json_extract(NEW.limits, '$.rpm') > json_extract(OLD.limits, '$.rpm'))
     AND (json_extract(NEW.limits, '$.rpm') IS NULL OR json_extract(NEW.limits, '$.rpm') + (SELECT COALESCE(SUM(json_extract(c.limits, '$.rpm')), 0) FROM api_keys c
           WHERE c.created_by = NEW.created_by AND c.revoked_at IS NULL AND c.id <> NEW.id) > json_extract(p.limits, '$.rpm'));
  SELECT RAISE(ABORT, 'family_bound:limits.tpm') FROM api_keys p
   WHERE p.id = substr(NEW.created_by, 5) AND json_extract(p.limits, '$.tpm') IS NOT NULL
     AND json_extract(OLD.limits, '$.tpm') IS NOT NULL AND (json_extract(NEW.limits, '$.tpm') IS NULL OR json_extract(NEW.limits, '$.tpm') > json_extract(OLD.limits, '$.tpm'))
     AND (json_extract(NEW.limits, '$.tpm') IS NULL OR json_extract(NEW.limits, '$.tpm') + (SELECT COALESCE(SUM(json_extract(c.limits, '$.tpm')), 0) FROM api_keys c
           WHERE c.created_by = NEW.created_by AND c.revoked_at IS NULL AND c.id <> NEW.id) > json_extract(p.limits, '$.tpm'));
  SELECT RAISE(ABORT, 'family_bound:limits.max_concurrency') FROM api_keys p
   WHERE p.id = substr(NEW.created_by, 5) AND json_extract(p.limits, '$.max_concurrency') IS NOT NULL
     AND json_extract(OLD.limits, '$.max_concurrency') IS NOT NULL AND (json_extract(NEW.limits, '$.max_concurrency') IS NULL OR json_extract(NEW.limits, '$.max_concurrency') > json_extract(OLD.limits, '$.max_concurrency'))
     AND (json_extract(NEW.limits, '$.max_concurrency') IS NULL OR json_extract(NEW.limits, '$.max_concurrency') + (SELECT COALESCE(SUM(json_extract(c.limits, '$.max_concurrency')), 0) FROM api_keys c
           WHERE c.created_by = NEW.created_by AND c.revoked_at IS NULL AND c.id <> NEW.id) > json_extract(p.limits, '$.max_concurrency'));
  SELECT RAISE(ABORT, 'family_bound:budget.monthly_usd') FROM api_keys p
   WHERE p.id = substr(NEW.created_by, 5) AND json_extract(p.budget, '$.monthly_usd') IS NOT NULL
     AND json_extract(OLD.budget, '$.monthly_usd') IS NOT NULL AND (json_extract(NEW.budget, '$.monthly_usd') IS NULL OR json_extract(NEW.budget, '$.monthly_usd') > json_extract(OLD.budget, '$.monthly_usd'))
     AND (json_extract(NEW.budget, '$.monthly_usd') IS NULL OR json_extract(NEW.budget, '$.monthly_usd') + (SELECT COALESCE(SUM(json_extract(c.budget, '$.monthly_usd')), 0) FROM api_keys c
           WHERE c.created_by = NEW.created_by AND c.revoked_at IS NULL AND c.id <> NEW.id) > json_extract(p.budget, '$.monthly_usd') + 1e-9);
END;
