-- People: users, their memberships of tenants with a role, platform operators, single-use invites,
-- console sessions and the failed-login counters. Owned by the auth Worker (workers/auth/src/users).
-- Times are unix seconds except `login_throttle`, which counts in milliseconds (its delays are exact).

CREATE TABLE users (
  id            TEXT PRIMARY KEY,
  email         TEXT NOT NULL UNIQUE,    -- lower-cased and trimmed before it is stored or looked up
  name          TEXT NOT NULL,
  -- 'pbkdf2-sha256$<rounds>x<iterations>$<salt b64url>$<hash b64url>' (workers/auth/src/users/password.ts)
  password_hash TEXT NOT NULL,
  is_operator   INTEGER NOT NULL DEFAULT 0 CHECK (is_operator IN (0, 1)), -- platform operator: every tenant
  status        TEXT NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
  created_at    INTEGER NOT NULL,
  updated_at    INTEGER NOT NULL
);

-- A user's role in a tenant: owner (everything, members), admin (keys, providers, routes),
-- developer (own keys), viewer (read-only). One role per user and tenant.
CREATE TABLE memberships (
  user_id    TEXT NOT NULL REFERENCES users (id),
  tenant_id  TEXT NOT NULL REFERENCES tenants (id),
  role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer')),
  created_at INTEGER NOT NULL,
  PRIMARY KEY (user_id, tenant_id)
);
CREATE INDEX memberships_by_tenant ON memberships (tenant_id, user_id);

-- Invite links: the secret is shown once (in the link) and stored as SHA-256 only. Single use:
-- accepting sets used_at in the same statement that checks it is NULL and unexpired.
CREATE TABLE invites (
  id         TEXT PRIMARY KEY,
  token_hash TEXT NOT NULL UNIQUE,
  tenant_id  TEXT REFERENCES tenants (id), -- NULL: an invite to become a platform operator
  email      TEXT NOT NULL,
  role       TEXT NOT NULL CHECK (role IN ('owner', 'admin', 'developer', 'viewer', 'operator')),
  created_by TEXT NOT NULL,                -- 'admin' or 'user:<id>'
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  used_at    INTEGER,
  used_by    TEXT
);
CREATE INDEX invites_by_tenant ON invites (tenant_id, created_at);

-- Console sessions. The cookie holds a short-lived signed token naming the session (workers/auth/src/users/session.ts);
-- this row is its authority: revoked (logout) or past expires_at (absolute lifetime), every token of it is refused.
CREATE TABLE sessions (
  id         TEXT PRIMARY KEY,
  user_id    TEXT NOT NULL REFERENCES users (id),
  csrf       TEXT NOT NULL,                -- the CSRF token of the session (sent back in x-csrf-token)
  created_at INTEGER NOT NULL,
  expires_at INTEGER NOT NULL,
  revoked_at INTEGER
);
CREATE INDEX sessions_by_user ON sessions (user_id);

-- Failed sign-ins per subject ('account:<sha256 of email>' or 'address:<client address>'): counted
-- by one atomic upsert per failure, so concurrent failures are all counted (D1 runs one write at a
-- time). A subject is refused until blocked_until_ms; the delay doubles with each failure past a threshold.
CREATE TABLE login_throttle (
  subject          TEXT PRIMARY KEY,
  failures         INTEGER NOT NULL,
  last_failure_ms  INTEGER NOT NULL,
  blocked_until_ms INTEGER NOT NULL
);
