import { monthOf, newId } from "../../../shared/src";
import type { CreditGrant, CreditBalance, CreditGrantState } from "../../../shared/src/contracts/credits";

/** Without a setting, a prepaid tenant's low-balance floor is this percentage of its newest grant (`billing.credits_low`). */
export const CREDITS_LOW_DEFAULT_PCT = 10;

interface GrantRow {
  id: string;
  tenant_id: string;
  amount_micros: number;
  expires_at: number | null;
  created_at: number;
}

/** Most grants a tenant may hold: the balance is computed over all of them on each read. */
export const MAX_GRANTS_PER_TENANT = 1_000;

const seconds = (ms: number | null) => (ms === null ? null : Math.floor(ms / 1000));

/**
 * Prepaid credits. The balance is never stored: it is the grants minus the usage recorded since
 * the first grant (billing's own ledger), drawn from the grant that expires first; what remains of
 * an expired grant is lost. The gateway enforces it through the limiter's budget reservation: the
 * tenant's month limit is `balance + this month's recorded spend`, which stays the same as usage is
 * recorded (each µ$ spent leaves the balance and enters the month's spend), so the limiter's own
 * count of the month (spent + reserved) can never pass the credits — parallel requests reserve
 * their worst case against it exactly as against a monthly budget.
 */
export class CreditStore {
  #db: D1Database;

  constructor(db: D1Database) {
    this.#db = db;
  }

  /** Adds a grant; null when the tenant already has MAX_GRANTS_PER_TENANT. */
  async grant(tenantId: string, amountMicros: number, expiresAt: number | null, now: number): Promise<CreditGrant | null> {
    const id = newId("cg");
    const res = await this.#db
      .prepare(
        `INSERT INTO credit_grants (id, tenant_id, amount_micros, expires_at, created_at)
         SELECT ?, ?, ?, ?, ? WHERE (SELECT COUNT(*) FROM credit_grants WHERE tenant_id = ?) < ?`,
      )
      .bind(id, tenantId, amountMicros, expiresAt, now, tenantId, MAX_GRANTS_PER_TENANT)
      .run();
    if ((res.meta.changes ?? 0) === 0) return null;
    return grantOf({ id, tenant_id: tenantId, amount_micros: amountMicros, expires_at: expiresAt, created_at: now });
  }

  async #grants(tenantId: string): Promise<GrantRow[]> {
    const { results } = await this.#db.prepare("SELECT * FROM credit_grants WHERE tenant_id = ? ORDER BY created_at").bind(tenantId).all<GrantRow>();
    return results;
  }

  /** Recorded cost of the tenant's usage from `since` (epoch ms), in all and in `month`. */
  async #drawn(tenantId: string, since: number, month: string): Promise<{ total: number; month: number }> {
    const row = await this.#db
      .prepare(
        `SELECT COALESCE(SUM(cost_usd_micros), 0) AS total, COALESCE(SUM(CASE WHEN month = ? THEN cost_usd_micros ELSE 0 END), 0) AS month
         FROM usage_events WHERE tenant_id = ? AND started_at >= ?`,
      )
      .bind(month, tenantId, since)
      .first<{ total: number; month: number }>();
    return { total: row?.total ?? 0, month: row?.month ?? 0 };
  }

  /** The tenant's credits now: null when it has never been granted any (not prepaid). */
  async balance(tenantId: string, now: number): Promise<CreditBalance | null> {
    const grants = await this.#grants(tenantId);
    if (grants.length === 0) return null;
    const month = monthOf(now);
    const drawn = await this.#drawn(tenantId, grants[0]!.created_at, month);
    // Draw the recorded usage from the grant that expires first (never-expiring ones last).
    const order = [...grants].sort((a, b) => (a.expires_at ?? Infinity) - (b.expires_at ?? Infinity) || a.created_at - b.created_at);
    let toDraw = drawn.total;
    let balance = 0;
    const state = new Map<string, CreditGrantState>();
    for (const g of order) {
      const used = Math.min(g.amount_micros, toDraw);
      toDraw -= used;
      const expired = g.expires_at !== null && g.expires_at <= now;
      if (!expired) balance += g.amount_micros - used;
      state.set(g.id, { ...grantOf(g), drawn_micros: used, remaining_micros: expired ? 0 : g.amount_micros - used, expired });
    }
    const monthSpend = await this.#monthSpend(tenantId, month);
    const floor = await this.floor(tenantId);
    const newest = grants.at(-1)!;
    return {
      object: "credit_balance",
      tenant_id: tenantId,
      balance_micros: balance,
      // Usage beyond the credits (recorded before the limiter refused, e.g. a settle above a reservation) shows as negative, never hidden.
      overdrawn_micros: toDraw,
      month,
      month_limit_micros: balance + monthSpend,
      drawn_micros: drawn.total - toDraw,
      low_balance_micros: floor ?? Math.floor((newest.amount_micros * CREDITS_LOW_DEFAULT_PCT) / 100),
      low_balance_default: floor === null,
      grants: grants.map((g) => state.get(g.id)!),
    };
  }

  /** The tenant's low-balance floor setting (µ$), null when it uses the default. */
  async floor(tenantId: string): Promise<number | null> {
    const row = await this.#db
      .prepare("SELECT low_balance_micros FROM credit_settings WHERE tenant_id = ?")
      .bind(tenantId)
      .first<{ low_balance_micros: number }>();
    return row ? row.low_balance_micros : null;
  }

  /** Sets (µ$) or clears (null: the default) the tenant's low-balance floor. */
  async setFloor(tenantId: string, micros: number | null, now: number): Promise<void> {
    const stmt =
      micros === null
        ? this.#db.prepare("DELETE FROM credit_settings WHERE tenant_id = ?").bind(tenantId)
        : this.#db
            .prepare(
              `INSERT INTO credit_settings (tenant_id, low_balance_micros, updated_at) VALUES (?, ?, ?)
               ON CONFLICT (tenant_id) DO UPDATE SET low_balance_micros = excluded.low_balance_micros, updated_at = excluded.updated_at`,
            )
            .bind(tenantId, micros, now);
    await stmt.run();
  }

  /** Everything the tenant spent in `month` (what the limiter seeds a month with: billing's monthSpend). */
  async #monthSpend(tenantId: string, month: string): Promise<number> {
    const row = await this.#db
      .prepare("SELECT COALESCE(SUM(cost_usd_micros), 0) AS micros FROM usage_monthly WHERE month = ? AND tenant_id = ?")
      .bind(month, tenantId)
      .first<{ micros: number }>();
    return row?.micros ?? 0;
  }

  /**
   * Credits applied to an invoice: the recorded cost of the month's usage made since the tenant's
   * first grant (drawn from credits), at most the subtotal.
   */
  async appliedTo(tenantId: string, month: string, subtotalMicros: number): Promise<number> {
    const first = await this.#db.prepare("SELECT MIN(created_at) AS at FROM credit_grants WHERE tenant_id = ?").bind(tenantId).first<{ at: number | null }>();
    if (first?.at === null || first?.at === undefined) return 0;
    const row = await this.#db
      .prepare("SELECT COALESCE(SUM(cost_usd_micros), 0) AS micros FROM usage_events WHERE tenant_id = ? AND month = ? AND started_at >= ?")
      .bind(tenantId, month, first.at)
      .first<{ micros: number }>();
    return Math.min(subtotalMicros, row?.micros ?? 0);
  }
}

function grantOf(r: GrantRow): CreditGrant {
  return {
    id: r.id,
    object: "credit_grant",
    tenant_id: r.tenant_id,
    amount_micros: r.amount_micros,
    expires_at: seconds(r.expires_at),
    created_at: seconds(r.created_at)!,
  };
}
