-- The console's "agent runs in flight": one row per `/v1/responses` or `/v1/agentic` run while it
-- is queued or in progress. Written by the run's AgentRun object when the run is created and
-- deleted when it reaches a terminal status (both off the reply path, waitUntil), so the table holds
-- only unfinished runs. The object stays the authority: the listing reads each listed run's live
-- state and drops a run that already ended (a lost delete is harmless). Every read is scoped by tenant_id.

CREATE TABLE agent_runs (
  id          TEXT    PRIMARY KEY,          -- resp_…
  tenant_id   TEXT    NOT NULL,
  surface     TEXT    NOT NULL,             -- responses | agentic
  created_at  INTEGER NOT NULL              -- epoch ms
);
CREATE INDEX agent_runs_tenant ON agent_runs (tenant_id, created_at);
