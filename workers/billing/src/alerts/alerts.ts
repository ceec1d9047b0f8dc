import { newId, type Result } from "../../../shared/src";
import type { BillingAuditRecord } from "../../../shared/src/contracts/auth";
import type { EmitTenantEvent, EmittedTenantEvent } from "../../../shared/src/contracts/webhooks";
import type { TenantEventData, TenantEventType } from "../../../shared/src/webhooks/events";
import { log } from "../../../shared/src/log";
import { CreditStore } from "../credits/store";
import type { PricedUsage } from "../usage/record";

/**
 * Budget and credit alerts (`billing.budget_threshold`, `billing.credits_low`): told to the tenant
 * through tail's tenant webhooks (`TenantEvents.emit`) and written to auth's audit log
 * (`BillingAudit.record`).
 *
 * Where they are decided: here, after the usage consumer stored a batch, against billing's ledger
 * (the `usage_monthly` rollups and `credit_grants`) — not in the RateLimiter object. The ledger is
 * exact: one row per request, each counted once whatever the redeliveries, the same numbers the
 * invoices and usage APIs show. The limiter's count is reservations plus settled estimates, split
 * across shard objects and handed between a key's and its tenant's object, so no single object
 * holds "the spend" to compare with a threshold.
 *
 * Never twice: an alert is a row of `billing_alerts` with UNIQUE (subject, threshold, period); every
 * consumer that sees a threshold crossed runs `INSERT … ON CONFLICT DO NOTHING RETURNING id`, and
 * only the one whose insert returned the row delivers it. D1's single writer makes that insert
 * atomic, so concurrent consumers (or a redelivered batch) cannot both fire. Delivery is an outbox:
 * `notified_at` / `audited_at` are set once each side succeeded; a side that failed is retried by a
 * later run (`retryPending`) with the same event id (tail derives it from the alert id) and the same
 * audit row id (auth derives it from the alert id), so a retry cannot duplicate either.
 *
 * - Budgets: each key and tenant whose request carried a monthly budget (the usage event's
 *   `budgets`, set by the gateway from the principal) is measured after the batch: month spend ≥
 *   pct × budget fires that pct (50, 80, 100), once per subject, threshold and UTC month. A budget
 *   raised mid-month does not re-fire a threshold already fired that month.
 * - Credits: a prepaid tenant whose balance is below its floor fires once per grant: the period is
 *   the newest grant's id, so a top-up (a new grant) re-arms the alert. The floor is the tenant's
 *   setting (`credit_settings`), else credits/store.ts CREDITS_LOW_DEFAULT_PCT % of the newest grant; 0 = off.
 */
export const BUDGET_THRESHOLDS = [50, 80, 100] as const;
export const CREDITS_FLOOR_THRESHOLD = "credits_floor";
/** An alert whose delivery has not completed after this long is retried by the next run (the first deliverer may still be at it before). */
export const OUTBOX_RETRY_AFTER_MS = 60_000;
/** Most subjects measured after one batch, and most pending alerts retried per run: bounded work per consumer invocation. */
export const MAX_SUBJECTS_PER_RUN = 500;
export const MAX_RETRIES_PER_RUN = 50;

/** Where an alert goes: tail's tenant events and auth's audit log (billing's bindings; injected in unit tests). */
export interface AlertSinks {
  emit(input: EmitTenantEvent): Promise<Result<EmittedTenantEvent>>;
  audit(input: BillingAuditRecord): Promise<Result<{ id: string; written: boolean }>>;
}

interface AlertRow {
  id: string;
  type: TenantEventType;
  tenant_id: string;
  subject: string;
  threshold: string;
  period: string;
  details: string;
  created_at: number;
  notified_at: number | null;
  audited_at: number | null;
}

interface Claim {
  type: "billing.budget_threshold" | "billing.credits_low";
  tenantId: string;
  subject: string;
  threshold: string;
  period: string;
  data: Omit<TenantEventData, "id">;
}

interface BudgetSubject {
  tenantId: string;
  subject: string;
  month: string;
  budget: number;
  /** started_at of the event the budget was read from: the newest one wins. */
  at: number;
}

export class BillingAlerts {
  readonly #db: D1Database;
  readonly #sinks: AlertSinks;
  readonly #now: () => number;

  constructor(db: D1Database, sinks: AlertSinks, now: () => number = Date.now) {
    this.#db = db;
    this.#sinks = sinks;
    this.#now = now;
  }

  /** After a batch of usage is stored: measures the budgets and credits it touched, fires what crossed, retries undelivered alerts. */
  async afterUsage(rows: readonly PricedUsage[]): Promise<{ fired: string[] }> {
    const claims = [...(await this.#budgetClaims(rows)), ...(await this.#creditClaims(rows))];
    const fired = await this.#claim(claims);
    await Promise.all(fired.map((a) => this.#deliver(a)));
    await this.retryPending();
    return { fired: fired.map((a) => a.id) };
  }

  /** Delivers alerts whose delivery did not complete (the outbox); also run by the cron. */
  async retryPending(): Promise<void> {
    const { results } = await this.#db
      .prepare("SELECT * FROM billing_alerts WHERE (notified_at IS NULL OR audited_at IS NULL) AND created_at <= ? ORDER BY created_at LIMIT ?")
      .bind(this.#now() - OUTBOX_RETRY_AFTER_MS, MAX_RETRIES_PER_RUN)
      .all<AlertRow>();
    await Promise.all(results.map((a) => this.#deliver(a)));
  }

  async #budgetClaims(rows: readonly PricedUsage[]): Promise<Claim[]> {
    const subjects = new Map<string, BudgetSubject>();
    const note = (tenantId: string, subject: string, month: string, budget: number | null, at: number) => {
      if (budget === null || budget <= 0) return;
      const k = `${subject}\n${month}`;
      const seen = subjects.get(k);
      if (!seen || seen.at <= at) subjects.set(k, { tenantId, subject, month, budget, at });
    };
    for (const { event, month } of rows) {
      if (!event.budgets) continue;
      note(event.tenant_id, `key:${event.key_id}`, month, event.budgets.key_micros, event.started_at);
      note(event.tenant_id, `tenant:${event.tenant_id}`, month, event.budgets.tenant_micros, event.started_at);
    }
    const list = [...subjects.values()].slice(0, MAX_SUBJECTS_PER_RUN);
    if (list.length === 0) return [];
    const spends = await this.#db.batch<{ micros: number }>(
      list.map((s) => {
        const id = s.subject.slice(s.subject.indexOf(":") + 1);
        return s.subject.startsWith("key:")
          ? this.#db
              .prepare("SELECT COALESCE(SUM(cost_usd_micros), 0) AS micros FROM usage_monthly WHERE month = ? AND tenant_id = ? AND key_id = ?")
              .bind(s.month, s.tenantId, id)
          : this.#db.prepare("SELECT COALESCE(SUM(cost_usd_micros), 0) AS micros FROM usage_monthly WHERE month = ? AND tenant_id = ?").bind(s.month, id);
      }),
    );
    const claims: Claim[] = [];
    list.forEach((s, i) => {
      const spend = spends[i]?.results[0]?.micros ?? 0;
      for (const pct of BUDGET_THRESHOLDS) {
        // spend ≥ pct % of the budget, in integers (no float rounding at the boundary).
        if (spend * 100 < s.budget * pct) continue;
        claims.push({
          type: "billing.budget_threshold",
          tenantId: s.tenantId,
          subject: s.subject,
          threshold: String(pct),
          period: s.month,
          data: { subject: s.subject, threshold_pct: pct, period: s.month, budget_micros: s.budget, spend_micros: spend },
        });
      }
    });
    return claims;
  }

  async #creditClaims(rows: readonly PricedUsage[]): Promise<Claim[]> {
    const tenants = [...new Set(rows.filter((r) => r.costUsdMicros > 0).map((r) => r.event.tenant_id))].slice(0, MAX_SUBJECTS_PER_RUN);
    if (tenants.length === 0) return [];
    // Only prepaid tenants (with a grant) have a balance: one query finds them among the batch's tenants.
    const prepaid = await this.#db
      .prepare(`SELECT DISTINCT tenant_id FROM credit_grants WHERE tenant_id IN (${tenants.map(() => "?").join(",")})`)
      .bind(...tenants)
      .all<{ tenant_id: string }>();
    const store = new CreditStore(this.#db);
    const claims: Claim[] = [];
    for (const { tenant_id } of prepaid.results) {
      const balance = await store.balance(tenant_id, this.#now());
      const newest = balance?.grants.at(-1);
      if (!balance || !newest) continue;
      const floor = balance.low_balance_micros;
      if (floor <= 0 || balance.balance_micros >= floor) continue;
      claims.push({
        type: "billing.credits_low",
        tenantId: tenant_id,
        subject: `tenant:${tenant_id}`,
        threshold: CREDITS_FLOOR_THRESHOLD,
        period: newest.id,
        data: { subject: `tenant:${tenant_id}`, period: newest.id, balance_micros: balance.balance_micros, floor_micros: floor },
      });
    }
    return claims;
  }

  /** Inserts every claim that is not yet an alert (one D1 batch); returns the rows this run inserted — the only ones it may deliver. */
  async #claim(claims: Claim[]): Promise<AlertRow[]> {
    if (claims.length === 0) return [];
    const now = this.#now();
    const results = await this.#db.batch<AlertRow>(
      claims.map((c) => {
        const id = newId("alrt");
        const details = JSON.stringify({ id, ...c.data });
        return this.#db
          .prepare(
            `INSERT INTO billing_alerts (id, type, tenant_id, subject, threshold, period, details, created_at)
             VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (subject, threshold, period) DO NOTHING RETURNING *`,
          )
          .bind(id, c.type, c.tenantId, c.subject, c.threshold, c.period, details, now);
      }),
    );
    return results.flatMap((r) => r.results);
  }

  /** Emits the event and writes the audit row (each side only if not done yet), recording what succeeded. */
  async #deliver(alert: AlertRow): Promise<void> {
    const data = JSON.parse(alert.details) as TenantEventData;
    const [notified, audited] = await Promise.all([
      alert.notified_at !== null
        ? Promise.resolve(true)
        : this.#sinks
            .emit({ tenant_id: alert.tenant_id, type: alert.type, data, dedupe_key: alert.id })
            .then((r) => r.ok)
            .catch(() => false),
      alert.audited_at !== null
        ? Promise.resolve(true)
        : this.#sinks
            .audit({
              ref: alert.id,
              tenant_id: alert.tenant_id,
              action: alert.type,
              target_type: alert.type === "billing.credits_low" ? "credits" : "budget",
              target_id: alert.subject,
              details: {
                alert_id: alert.id,
                threshold: alert.threshold,
                period: alert.period,
                ...(data.budget_micros !== undefined ? { budget_micros: data.budget_micros } : {}),
                ...(data.spend_micros !== undefined ? { spend_micros: data.spend_micros } : {}),
                ...(data.balance_micros !== undefined ? { balance_micros: data.balance_micros } : {}),
                ...(data.floor_micros !== undefined ? { floor_micros: data.floor_micros } : {}),
              },
            })
            .then((r) => r.ok)
            .catch(() => false),
    ]);
    if (!notified || !audited) {
      log.error("billing", "billing alert not fully delivered; retried later", {
        tenantId: alert.tenant_id,
        op: "alert",
        detail: `${alert.id} notified=${notified} audited=${audited}`,
      });
    }
    const now = this.#now();
    await this.#db
      .prepare(
        "UPDATE billing_alerts SET notified_at = COALESCE(notified_at, CASE WHEN ? THEN ? END), audited_at = COALESCE(audited_at, CASE WHEN ? THEN ? END) WHERE id = ?",
      )
      .bind(notified ? 1 : 0, now, audited ? 1 : 0, now, alert.id)
      .run();
  }
}
