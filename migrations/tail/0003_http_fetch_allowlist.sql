-- The domain allow-list of the built-in `http_fetch` tool of `/v1/agentic` runs, one row per tenant
-- (`GET|PUT /v1/agentic/http_fetch/allowlist`). No row: nothing may be fetched. `domains` is a JSON
-- array of host names (`api.example.com`, exact) and `*.`-suffixes (`*.example.com`), validated and
-- bounded (contracts/http-fetch.ts) before it is written. Every read is scoped by tenant_id.

CREATE TABLE http_fetch_allowlists (
  tenant_id   TEXT    PRIMARY KEY,
  domains     TEXT    NOT NULL,         -- JSON array of strings, at most 100
  updated_by  TEXT    NOT NULL,         -- key:<id> that set it
  updated_at  INTEGER NOT NULL          -- unix seconds
);
