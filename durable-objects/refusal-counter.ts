import { DurableObject } from "cloudflare:workers";
import { REFUSAL_REASONS, type RefusalCounts, type RefusalReason } from "../workers/shared/src/contracts/metrics";

/**
 * Limiter refusals for GET /metrics, counted exactly across isolates: the gateway reports each
 * refused request once (after its 429, in `waitUntil`) to one of REFUSAL_COUNTER_SHARDS objects,
 * chosen by the request id, and a scrape sums the shards. Only refused requests cost anything: an
 * admitted request never reaches these objects. Sharded so that a flood of refusals (a client
 * hammering its limit) is spread over several objects instead of queueing on one.
 */
export const REFUSAL_COUNTER_SHARDS = 8;

export class RefusalCounter extends DurableObject {
  #ensured = false;

  #table(): void {
    if (this.#ensured) return;
    this.ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS refusals (reason TEXT PRIMARY KEY, n INTEGER NOT NULL)");
    this.#ensured = true;
  }

  async count(reason: RefusalReason): Promise<void> {
    if (!REFUSAL_REASONS.includes(reason)) return;
    this.#table();
    this.ctx.storage.sql.exec("INSERT INTO refusals (reason, n) VALUES (?, 1) ON CONFLICT (reason) DO UPDATE SET n = n + 1", reason);
  }

  async counts(): Promise<RefusalCounts> {
    this.#table();
    const out = Object.fromEntries(REFUSAL_REASONS.map((r) => [r, 0])) as RefusalCounts;
    for (const row of this.ctx.storage.sql.exec<{ reason: string; n: number }>("SELECT reason, n FROM refusals")) {
      const reason = REFUSAL_REASONS.find((r) => r === row.reason);
      if (reason) out[reason] = row.n;
    }
    return out;
  }
}
