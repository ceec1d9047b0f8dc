import { MAX_LABEL_CHARS } from "../../../shared/src/contracts/metrics";
import type { AttemptRecord } from "../routing/execute";

/**
 * Failed upstream attempts, counted in model-proxy's D1 (`upstream_attempt_failures`,
 * migrations/proxy/0004) by provider, upstream model and outcome, for GET /metrics. One upsert per
 * failed attempt, batched per request and run in the background: a request whose attempts all
 * succeeded writes nothing, so the hot path of a healthy upstream is untouched. Each attempt is
 * counted once, by the isolate that made it; D1 sums them, so the counts are exact across isolates.
 */
export interface AttemptLog {
  recordFailures(attempts: readonly AttemptRecord[]): Promise<void>;
}

const cut = (s: string) => s.slice(0, MAX_LABEL_CHARS);

export function d1AttemptLog(db: D1Database): AttemptLog {
  return {
    async recordFailures(attempts) {
      const failed = attempts.filter((a) => a.outcome !== "ok");
      if (failed.length === 0) return;
      const upsert = db.prepare(
        `INSERT INTO upstream_attempt_failures (provider, model, outcome, failures) VALUES (?, ?, ?, 1)
         ON CONFLICT (provider, model, outcome) DO UPDATE SET failures = failures + 1`,
      );
      await db.batch(failed.map((a) => upsert.bind(cut(a.provider), cut(a.model), cut(a.outcome))));
    },
  };
}
