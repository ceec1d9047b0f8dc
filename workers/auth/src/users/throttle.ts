import { hashApiKey } from "../../../shared/src";

/**
 * Failed sign-ins slow down per account and per client address. Each failure is counted by one
 * atomic D1 upsert (`login_throttle`, migrations/auth/0005), so failures from many isolates at once
 * are all counted; from the ACCOUNT_SLOW_FROM-th failure of an account (ADDRESS_SLOW_FROM-th of an
 * address) on, each failure blocks its subject for a delay that doubles (1 s, 2 s, 4 s … at most 15 min). While blocked, every attempt — even with the right password —
 * is refused with 429 and `retry-after`, and is not counted again (so a blocked attacker cannot
 * push the delay to its cap faster). A success clears the account's counter (not the address's:
 * one good account must not launder an address's failures). Counters are forgotten after an hour
 * without failure.
 *
 * Address allowance is larger (many users can share one NAT address) and the account key is a hash
 * of the email, so the table holds no address book.
 */
export const ACCOUNT_SLOW_FROM = 3;
export const ADDRESS_SLOW_FROM = 20;
export const MAX_DELAY_MS = 15 * 60_000;
export const FORGET_AFTER_MS = 3_600_000;

export interface Subjects {
  account: string;
  address: string;
}

export async function subjectsOf(email: string, address: string): Promise<Subjects> {
  return { account: `account:${await hashApiKey(email)}`, address: `address:${address.slice(0, 64)}` };
}

/** The delay after the n-th failure of a subject that slows from its `from`-th failure on. */
export function delayAfter(failures: number, from: number): number {
  if (failures < from) return 0;
  return Math.min(MAX_DELAY_MS, 1000 * 2 ** Math.min(failures - from, 20));
}

/** Milliseconds until the subjects may try again (0 = now). */
export async function blockedFor(db: D1Database, s: Subjects, nowMs: number): Promise<number> {
  const { results } = await db
    .prepare("SELECT blocked_until_ms FROM login_throttle WHERE subject IN (?1, ?2) AND blocked_until_ms > ?3")
    .bind(s.account, s.address, nowMs)
    .all<{ blocked_until_ms: number }>();
  return results.reduce((m, r) => Math.max(m, r.blocked_until_ms - nowMs), 0);
}

/** Counts a failure for both subjects (atomic upserts in one batch); returns how long they are now blocked. */
export async function recordFailure(db: D1Database, s: Subjects, nowMs: number): Promise<number> {
  const upsert = (subject: string, from: number) =>
    db
      .prepare(
        `INSERT INTO login_throttle (subject, failures, last_failure_ms, blocked_until_ms) VALUES (?1, 1, ?2, ?2 + ?3)
         ON CONFLICT (subject) DO UPDATE SET
           failures = CASE WHEN last_failure_ms < ?2 - ?4 THEN 1 ELSE failures + 1 END,
           last_failure_ms = ?2
         RETURNING failures`,
      )
      .bind(subject, nowMs, delayAfter(1, from), FORGET_AFTER_MS);
  const results = await db.batch<{ failures: number }>([upsert(s.account, ACCOUNT_SLOW_FROM), upsert(s.address, ADDRESS_SLOW_FROM)]);
  const account = results[0]!.results[0]!.failures;
  const address = results[1]!.results[0]!.failures;
  const accountDelay = delayAfter(account, ACCOUNT_SLOW_FROM);
  const addressDelay = delayAfter(address, ADDRESS_SLOW_FROM);
  await db.batch([
    db.prepare("UPDATE login_throttle SET blocked_until_ms = MAX(blocked_until_ms, ?2) WHERE subject = ?1").bind(s.account, nowMs + accountDelay),
    db.prepare("UPDATE login_throttle SET blocked_until_ms = MAX(blocked_until_ms, ?2) WHERE subject = ?1").bind(s.address, nowMs + addressDelay),
  ]);
  return Math.max(accountDelay, addressDelay);
}

export async function clearAccount(db: D1Database, s: Subjects): Promise<void> {
  await db.prepare("DELETE FROM login_throttle WHERE subject = ?1").bind(s.account).run();
}
