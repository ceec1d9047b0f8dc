-- tail's metadata: files (bytes in R2 `FILES`) and batches (the state machine lives in each batch's
-- BatchCoordinator Durable Object; this row is its listing copy, written by the coordinator on every
-- transition, so `GET /v1/batches` pages through D1 and never wakes one object per batch).
--
-- Every read is scoped by tenant_id: another tenant's id is a 404 and absent from lists.

CREATE TABLE files (
  id          TEXT    PRIMARY KEY,           -- file-<base62>
  tenant_id   TEXT    NOT NULL,
  key_id      TEXT    NOT NULL,              -- the key that uploaded it (or the batch's key for outputs)
  bytes       INTEGER NOT NULL,
  created_at  INTEGER NOT NULL,              -- unix seconds (OpenAI's file object)
  filename    TEXT    NOT NULL,
  purpose     TEXT    NOT NULL,              -- batch | batch_output
  status      TEXT    NOT NULL,              -- uploaded | processed | error
  r2_key      TEXT    NOT NULL,              -- files/<tenant_id>/<id>
  expires_at  INTEGER                        -- unix seconds, null = never
);

-- Cursor pagination (`after`, `limit`, `order`) over one tenant's files, newest first or oldest first.
CREATE INDEX files_tenant_created ON files (tenant_id, created_at, id);

CREATE TABLE batches (
  id              TEXT    PRIMARY KEY,       -- batch_<base62>
  tenant_id       TEXT    NOT NULL,
  key_id          TEXT    NOT NULL,          -- the key that created it: its lines run as that key
  created_at      INTEGER NOT NULL,          -- unix seconds
  status          TEXT    NOT NULL,
  input_file_id   TEXT    NOT NULL,
  output_file_id  TEXT,
  error_file_id   TEXT,
  object          TEXT    NOT NULL           -- the OpenAI batch object (JSON) as of the last transition
);

CREATE INDEX batches_tenant_created ON batches (tenant_id, created_at, id);
