import type { ClaimRow } from "./blocks";
import type { BatchTarget } from "./group-commit";
import type { LeaseEntry, LeaseState } from "./ledger";

/**
 * The ledger's persistence in the Durable Object's own SQLite database.
 *
 * Written in batches (group-commit.ts). Per batch: the requests admitted AND settled since the last
 * batch (nearly all, since requests are short and batches a second apart) as ONE row per subject set
 * (their window sums); a row per lease still open at the batch (one INSERT, later one UPDATE when it
 * settles or expires, or a DELETE); one spend UPSERT per subject and month that spent; one UPSERT per
 * subject that changed into `claims` (blocks.ts); one UPDATE per renewal of a long stream's lease.
 * A refused request writes nothing.
 */
export class SqlLedgerStore implements BatchTarget {
  constructor(private readonly sql: SqlStorage) {
    sql.exec(`CREATE TABLE IF NOT EXISTS leases (
      id TEXT PRIMARY KEY,
      subjects TEXT NOT NULL,
      t INTEGER NOT NULL,
      tokens INTEGER NOT NULL,
      cost INTEGER NOT NULL,
      month TEXT NOT NULL,
      expires_at INTEGER NOT NULL,
      state TEXT NOT NULL
    )`);
    // Loans to shard objects count several requests (ledger.ts `lend`); older rows count one.
    if (
      !sql
        .exec<{ name: string }>("PRAGMA table_info(leases)")
        .toArray()
        .some((c) => c.name === "count")
    ) {
      sql.exec("ALTER TABLE leases ADD COLUMN count INTEGER NOT NULL DEFAULT 1");
    }
    sql.exec(`CREATE TABLE IF NOT EXISTS spend (
      subject TEXT NOT NULL,
      month TEXT NOT NULL,
      spent INTEGER NOT NULL,
      seeded INTEGER NOT NULL DEFAULT 0,
      PRIMARY KEY (subject, month)
    )`);
    sql.exec(`CREATE TABLE IF NOT EXISTS claims (
      subject TEXT PRIMARY KEY,
      claimed_requests INTEGER NOT NULL,
      claimed_tokens INTEGER NOT NULL,
      claimed_micros INTEGER NOT NULL,
      flushed_requests INTEGER NOT NULL,
      flushed_tokens INTEGER NOT NULL,
      flushed_micros INTEGER NOT NULL
    )`);
  }

  loadClaims(): ClaimRow[] {
    return this.sql
      .exec<{ subject: string; cr: number; ct: number; cm: number; fr: number; ft: number; fm: number }>(
        `SELECT subject, claimed_requests AS cr, claimed_tokens AS ct, claimed_micros AS cm,
                flushed_requests AS fr, flushed_tokens AS ft, flushed_micros AS fm FROM claims`,
      )
      .toArray()
      .map((r) => ({ subject: r.subject, claimed: { requests: r.cr, tokens: r.ct, micros: r.cm }, flushed: { requests: r.fr, tokens: r.ft, micros: r.fm } }));
  }

  claimsWritten(rows: ClaimRow[]): void {
    for (const r of rows) {
      this.sql.exec(
        `INSERT OR REPLACE INTO claims (subject, claimed_requests, claimed_tokens, claimed_micros, flushed_requests, flushed_tokens, flushed_micros)
         VALUES (?, ?, ?, ?, ?, ?, ?)`,
        r.subject,
        r.claimed.requests,
        r.claimed.tokens,
        r.claimed.micros,
        r.flushed.requests,
        r.flushed.tokens,
        r.flushed.micros,
      );
    }
  }

  loadLeases(): LeaseEntry[] {
    return this.sql
      .exec<{ id: string; subjects: string; t: number; count: number; tokens: number; cost: number; month: string; expires_at: number; state: string }>(
        "SELECT id, subjects, t, count, tokens, cost, month, expires_at, state FROM leases ORDER BY t, rowid",
      )
      .toArray()
      .map((r) => ({
        id: r.id,
        subjects: r.subjects.split(" "),
        t: r.t,
        count: r.count,
        tokens: r.tokens,
        cost: r.cost,
        month: r.month,
        expiresAt: r.expires_at,
        state: r.state as LeaseState,
      }));
  }

  loadSpend(): { subject: string; month: string; spent: number; seeded: boolean }[] {
    return this.sql
      .exec<{ subject: string; month: string; spent: number; seeded: number }>("SELECT subject, month, spent, seeded FROM spend")
      .toArray()
      .map((r) => ({ subject: r.subject, month: r.month, spent: r.spent, seeded: r.seeded === 1 }));
  }

  leaseAdmitted(e: LeaseEntry): void {
    this.sql.exec(
      "INSERT INTO leases (id, subjects, t, count, tokens, cost, month, expires_at, state) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)",
      e.id,
      e.subjects.join(" "),
      e.t,
      e.count,
      e.tokens,
      e.cost,
      e.month,
      e.expiresAt,
      e.state,
    );
  }

  leaseUpdated(e: LeaseEntry): void {
    this.sql.exec(
      "UPDATE leases SET count = ?, tokens = ?, cost = ?, state = ?, expires_at = ? WHERE id = ?",
      e.count,
      e.tokens,
      e.cost,
      e.state,
      e.expiresAt,
      e.id,
    );
  }

  leaseForgotten(id: string): void {
    this.sql.exec("DELETE FROM leases WHERE id = ?", id);
  }

  spendAdded(subject: string, month: string, micros: number): void {
    this.sql.exec(
      "INSERT INTO spend (subject, month, spent) VALUES (?, ?, ?) ON CONFLICT (subject, month) DO UPDATE SET spent = spent + excluded.spent",
      subject,
      month,
      micros,
    );
  }

  spendSeeded(subject: string, month: string, micros: number): void {
    this.sql.exec(
      "INSERT INTO spend (subject, month, spent, seeded) VALUES (?, ?, ?, 1) ON CONFLICT (subject, month) DO UPDATE SET spent = excluded.spent, seeded = 1",
      subject,
      month,
      micros,
    );
  }

  spendReleased(subject: string, month: string): void {
    this.sql.exec("UPDATE spend SET seeded = 0 WHERE subject = ? AND month = ?", subject, month);
  }

  swept(settledBefore: number, expiredBefore: number): void {
    this.sql.exec("DELETE FROM leases WHERE state = 'settled' AND t <= ?", settledBefore);
    this.sql.exec("DELETE FROM leases WHERE state = 'expired' AND expires_at <= ?", expiredBefore);
  }
}
