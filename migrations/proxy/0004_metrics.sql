-- What GET /metrics reads from model-proxy (exact across isolates: each row is written where the
-- event happens once, never summed from per-isolate counters).
--
-- upstream_attempt_failures: every failed upstream attempt (the router's attempt records: an error
-- answer, a timeout, a connection failure), counted by provider name, upstream model and outcome
-- (the attempt's ErrorCode). Written off the response path (waitUntil), only when an attempt
-- failed, so a healthy request costs nothing. Successful attempts are not counted here: each is
-- the served attempt of a request, which billing's ledger already holds.
CREATE TABLE upstream_attempt_failures (
  provider  TEXT    NOT NULL,
  model     TEXT    NOT NULL,
  outcome   TEXT    NOT NULL,
  failures  INTEGER NOT NULL,
  PRIMARY KEY (provider, model, outcome)
);

-- circuit_states: the phase of each circuit, written by its CircuitBreaker object on every phase
-- change (the object is the one writer of its row; `seq` orders its writes, so a late write never
-- replaces a newer one). `circuit` is the object's name: `[tenant:<id>/]<provider id>/<model>`.
CREATE TABLE circuit_states (
  circuit     TEXT    PRIMARY KEY,
  phase       TEXT    NOT NULL,  -- closed | open | half_open
  seq         INTEGER NOT NULL,
  updated_at  INTEGER NOT NULL   -- epoch ms
);
