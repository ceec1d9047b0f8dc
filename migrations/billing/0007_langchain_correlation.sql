-- LangChain correlation labels of the requests made through /v1/langchain (contracts/langchain.ts):
-- one row per such request, keyed by the usage event's request_id, written in the same D1 batch as
-- its usage_events row and, like it, with ON CONFLICT DO NOTHING (a redelivered event adds
-- nothing). Tokens and cost stay in usage_events (joined by request_id): one record of the usage.
--
-- Labels are tenant-chosen text, bounded by the gateway and checked again by the consumer; every
-- query filters by tenant_id first. They group a tenant's own requests and are never a key that
-- de-duplicates, authorises or bills.

CREATE TABLE langchain_requests (
  request_id     TEXT    PRIMARY KEY,  -- usage_events.request_id
  tenant_id      TEXT    NOT NULL,
  run_id         TEXT,
  parent_run_id  TEXT,
  session_id     TEXT,
  project        TEXT,                 -- LangSmith's project (baggage langsmith-project)
  metadata       TEXT,                 -- JSON object, at most 4 KB
  started_at     INTEGER NOT NULL      -- epoch ms, as usage_events.started_at
);

CREATE INDEX langchain_requests_run ON langchain_requests (tenant_id, run_id, started_at) WHERE run_id IS NOT NULL;
CREATE INDEX langchain_requests_parent ON langchain_requests (tenant_id, parent_run_id, run_id) WHERE parent_run_id IS NOT NULL;
CREATE INDEX langchain_requests_session ON langchain_requests (tenant_id, session_id, started_at) WHERE session_id IS NOT NULL;
CREATE INDEX langchain_requests_time ON langchain_requests (tenant_id, started_at);

-- A request's tags (x-lc-tags and LangSmith's, at most 16), one row each.
CREATE TABLE langchain_request_tags (
  request_id  TEXT    NOT NULL,
  tenant_id   TEXT    NOT NULL,
  tag         TEXT    NOT NULL,
  started_at  INTEGER NOT NULL,
  PRIMARY KEY (request_id, tag)
);

CREATE INDEX langchain_request_tags_tag ON langchain_request_tags (tenant_id, tag, started_at);
