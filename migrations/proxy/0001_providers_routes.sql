-- Providers and routes, owned by model-proxy. `owner` is 'platform' (serves every tenant) or a
-- tenant id (that tenant's own, bring-your-own-key; wins over the platform's for that tenant).
-- Credentials are never stored here: `credential_ref` names a ciphertext in the secrets Worker's
-- KV; `last4` and `rotated_at` are kept beside it so listing never needs to reach the secrets Worker.
CREATE TABLE providers (
  id             TEXT PRIMARY KEY,            -- prv_…
  owner          TEXT NOT NULL,
  name           TEXT NOT NULL,               -- first segment of `<name>/<model>`
  type           TEXT NOT NULL,
  base_url       TEXT,                        -- NULL: the type's preset
  credential_ref TEXT,                        -- cred_… in the secrets Worker; NULL for keyless
  last4          TEXT,
  rotated_at     INTEGER,                     -- epoch ms of the last store/rotation
  models         TEXT,                        -- JSON array of upstream models; NULL = any
  headers        TEXT NOT NULL DEFAULT '{}',  -- JSON object of extra upstream headers (no credentials)
  timeout_ms     INTEGER,
  api_version    TEXT,
  enabled        INTEGER NOT NULL DEFAULT 1,
  created_at     INTEGER NOT NULL,            -- epoch ms
  updated_at     INTEGER NOT NULL
);
CREATE UNIQUE INDEX providers_owner_name ON providers (owner, name);

CREATE TABLE routes (
  id          TEXT PRIMARY KEY,               -- rte_…
  owner       TEXT NOT NULL,
  name        TEXT NOT NULL,                  -- the public model name (alias)
  strategy    TEXT NOT NULL,                  -- fallback | weighted | least-latency
  targets     TEXT NOT NULL,                  -- JSON [{provider, model, weight}]
  retries     INTEGER NOT NULL,
  timeout_ms  INTEGER,
  enabled     INTEGER NOT NULL DEFAULT 1,
  created_at  INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL
);
CREATE UNIQUE INDEX routes_owner_name ON routes (owner, name);
