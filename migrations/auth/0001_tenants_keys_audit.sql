-- Tenants, their API keys and the audit log of every admin action. Owned by the auth Worker.
-- Times are unix seconds (the API's unit, as OpenAI's `created_at`). JSON columns hold objects
-- validated by the zod schemas in workers/shared/src/contracts.

CREATE TABLE tenants (
  id          TEXT PRIMARY KEY,
  name        TEXT NOT NULL,
  status      TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  -- Tenant-wide limits {rpm, tpm, max_concurrency} and budget {monthly_usd}; '{}' = unlimited.
  limits      TEXT NOT NULL DEFAULT '{}',
  budget      TEXT NOT NULL DEFAULT '{}',
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL,
  disabled_at INTEGER
);
CREATE INDEX tenants_by_created ON tenants (created_at, id);

-- One row per key: what it may do. The secret itself lives in api_key_secrets, as SHA-256 only.
CREATE TABLE api_keys (
  id           TEXT PRIMARY KEY,
  tenant_id    TEXT NOT NULL REFERENCES tenants (id),
  name         TEXT,
  -- Display prefix of the current secret (`sk-dev-AbCd1234`): enough to recognise, useless to use.
  prefix       TEXT NOT NULL,
  -- SHA-256 (hex) of the current secret; also present in api_key_secrets.
  hash         TEXT NOT NULL,
  scopes       TEXT NOT NULL,          -- JSON array of scopes
  models       TEXT,                   -- JSON array of model globs; NULL = every model
  limits       TEXT NOT NULL DEFAULT '{}',
  budget       TEXT NOT NULL DEFAULT '{}',
  expires_at   INTEGER,                -- NULL = never
  revoked_at   INTEGER,                -- NULL = not revoked
  last_used_at INTEGER,                -- approximate (flushed at most once a minute per key)
  created_by   TEXT NOT NULL,          -- 'admin' or 'key:<id>' (tenant self-service)
  created_at   INTEGER NOT NULL,
  updated_at   INTEGER NOT NULL
);
CREATE INDEX api_keys_by_tenant ON api_keys (tenant_id, created_at, id);

-- Every secret a key has had that may still authenticate: the current one (expires_at NULL) and,
-- after a rotation, the previous ones until their grace period ends. Lookup is by hash only.
CREATE TABLE api_key_secrets (
  hash       TEXT PRIMARY KEY,         -- SHA-256 (hex) of the full key
  key_id     TEXT NOT NULL REFERENCES api_keys (id),
  prefix     TEXT NOT NULL,
  created_at INTEGER NOT NULL,
  expires_at INTEGER                   -- NULL = current secret; set to now+grace on rotation
);
CREATE INDEX api_key_secrets_by_key ON api_key_secrets (key_id);

-- Who did what, when, under which request id. Never a key or any secret.
CREATE TABLE audit_log (
  id          TEXT PRIMARY KEY,
  at          INTEGER NOT NULL,
  actor       TEXT NOT NULL,           -- 'admin' or 'key:<key id>'
  action      TEXT NOT NULL,           -- tenant.create, tenant.update, tenant.disable, key.create, ...
  tenant_id   TEXT,
  target_type TEXT NOT NULL,           -- 'tenant' | 'api_key'
  target_id   TEXT NOT NULL,
  request_id  TEXT NOT NULL,
  details     TEXT NOT NULL DEFAULT '{}' -- JSON: changed fields (never key material)
);
CREATE INDEX audit_log_by_tenant ON audit_log (tenant_id, at, id);
CREATE INDEX audit_log_by_time ON audit_log (at, id);
