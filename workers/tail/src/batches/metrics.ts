import type { BatchMetrics } from "../../../shared/src/contracts/metrics";

/** Statuses of a batch whose lines may still run (OpenAI's batch lifecycle). */
const RUNNING = ["validating", "in_progress", "finalizing", "cancelling"];

/**
 * GET /metrics's batch part, from tail's D1 listing copy (each batch's BatchCoordinator writes it
 * on every transition): batches by status, and the lines of running batches not yet recorded as
 * done or failed as of their last transition (so, while a batch runs, its lines count as pending
 * until it finalizes). Aggregates only: no tenant, no batch id.
 */
export async function batchMetrics(db: D1Database): Promise<BatchMetrics> {
  const running = RUNNING.map(() => "?").join(", ");
  const [byStatus, pending] = await db.batch<Record<string, unknown>>([
    db.prepare("SELECT status, COUNT(*) AS batches FROM batches GROUP BY status ORDER BY status"),
    db
      .prepare(
        `SELECT COALESCE(SUM(MAX(0, COALESCE(json_extract(object, '$.request_counts.total'), 0)
                 - COALESCE(json_extract(object, '$.request_counts.completed'), 0)
                 - COALESCE(json_extract(object, '$.request_counts.failed'), 0))), 0) AS lines
           FROM batches WHERE status IN (${running})`,
      )
      .bind(...RUNNING),
  ]);
  return {
    batches: (byStatus!.results as { status: string; batches: number }[]).map((r) => ({ status: r.status, batches: r.batches })),
    pendingLines: Number((pending!.results[0] as { lines: number } | undefined)?.lines ?? 0),
  };
}
