-- Per-tenant CORS: the exact browser origins (`https://host[:port]`, lowercase) whose pages may use
-- the tenant's keys, as a JSON array validated by CorsOriginsSchema (workers/shared/src/contracts/auth.ts).
-- Carried in every key's principal (the gateway's CORS middleware reads it in per-tenant mode), so a
-- change bumps the tenant's cache generation like limits and budget do. '[]' = none.
ALTER TABLE tenants ADD COLUMN cors_origins TEXT NOT NULL DEFAULT '[]';
