-- Tenant webhook endpoints (`/v1/webhooks`): where tail delivers a tenant's events (batch.*, and
-- billing's alerts later), through the `webhooks` Queue.
--
-- The signing secret is never stored in the clear: `secret_envelope` is its AES-256-GCM envelope
-- sealed by the secrets Worker (entrypoint WebhookSecrets) under the versioned master key, bound to
-- this tenant and endpoint id. Every read is scoped by tenant_id: another tenant's id is a 404 and
-- absent from lists.

CREATE TABLE webhook_endpoints (
  id               TEXT    PRIMARY KEY,      -- wh_<base62>
  tenant_id        TEXT    NOT NULL,
  url              TEXT    NOT NULL,         -- passed the SSRF guard at registration; checked again at each delivery
  events           TEXT    NOT NULL,         -- JSON array of event types, or ["*"]
  description      TEXT,
  secret_envelope  TEXT    NOT NULL,
  created_by       TEXT    NOT NULL,         -- key:<id> that registered it
  created_at       INTEGER NOT NULL          -- unix seconds
);

-- Listing one tenant's endpoints (oldest first), counting them against the per-tenant bound, and
-- finding the subscribers of an event.
CREATE INDEX webhook_endpoints_tenant ON webhook_endpoints (tenant_id, created_at, id);
