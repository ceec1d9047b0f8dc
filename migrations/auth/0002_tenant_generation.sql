-- A per-tenant cache generation. Auth caches each active key's record in KV AUTH_CACHE under
-- `key:<sha256>`, stamped with the tenant's generation at the time it was read from here; the
-- current generation is also in KV under `tenant-gen:<tenant id>`. A tenant-wide change (limits,
-- budget, disable) bumps this column in the same D1 batch as the change and writes the new value
-- to KV once: every cached record of the tenant, however many keys it has, becomes a miss with a
-- constant number of KV operations (see workers/auth/src/authenticate/key-cache.ts).
ALTER TABLE tenants ADD COLUMN generation INTEGER NOT NULL DEFAULT 1;
