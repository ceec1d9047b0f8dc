import type { ApiKeyRow } from "../db/rows";

/**
 * The D1 side of authentication, built so that a flood of well-formed but unknown keys (the
 * checksum is a CRC, anyone can compute it) does not cost one D1 query per request:
 *
 * - Negative cache, per auth isolate, by key hash: a hash D1 does not know, or whose key is
 *   revoked, or whose secret's rotation grace is over, is answered from memory for
 *   NEGATIVE_TTL_MS. Only answers that can never change are kept, so there is no window in which
 *   a valid key is refused: a new key or a rotation's new secret is a never-seen 190-bit random
 *   value (its hash cannot have been looked up before it existed), revocation is final, and a
 *   secret's grace end is only ever moved earlier. A key's own expiry (PATCH can extend it) and a
 *   disabled tenant are not cached. Repeating one unknown key costs one query per isolate.
 * - Coalescing: lookups that miss while a query is in flight wait for it, then go together in the
 *   next one (`hash IN (…)`, up to MAX_BATCH). Distinct random keys then cost one query per D1
 *   round trip per isolate, however many arrive meanwhile, instead of one each; an idle isolate
 *   adds no delay (the first miss queries at once). Every lookup is answered by a query that
 *   started after it was made, so what D1 holds when a request arrives is what it sees.
 *
 * A waiter never depends on another request finishing: it waits for the in-flight query at most
 * WAIT_FOR_OTHERS_MS (that query runs in another request's context, which may be cancelled), then
 * queries for itself.
 */

/** One joined row: the secret, its key (the api_keys columns it selects as they are) and its tenant. */
export interface LookupRow extends Pick<ApiKeyRow, "tenant_id" | "scopes" | "models" | "limits" | "budget" | "expires_at" | "revoked_at"> {
  secret_hash: string;
  secret_expires_at: number | null;
  key_id: string;
  tenant_status: string;
  tenant_limits: string;
  tenant_budget: string;
  tenant_cors_origins: string;
  tenant_generation: number;
}

const lookupSql = (n: number) => `
  SELECT s.hash AS secret_hash, s.expires_at AS secret_expires_at,
         k.id AS key_id, k.tenant_id, k.scopes, k.models, k.limits, k.budget, k.expires_at, k.revoked_at,
         t.status AS tenant_status, t.limits AS tenant_limits, t.budget AS tenant_budget,
         t.cors_origins AS tenant_cors_origins, t.generation AS tenant_generation
    FROM api_key_secrets s
    JOIN api_keys k ON k.id = s.key_id
    JOIN tenants t ON t.id = k.tenant_id
   WHERE s.hash IN (${Array.from({ length: n }, (_, i) => `?${i + 1}`).join(", ")})`;

/** D1 binds at most 100 parameters per query. */
const MAX_BATCH = 50;
const WAIT_FOR_OTHERS_MS = 1_000;
export const NEGATIVE_TTL_MS = 10 * 60_000;
const MAX_NEGATIVE = 10_000;

/** Why a hash is refused for good: the message the caller answers with. */
const negative = new Map<string, { message: string; until: number }>();

/** A refusal that can never turn into an acceptance (see above); remembered for NEGATIVE_TTL_MS. */
export function rememberRefusal(hash: string, message: string, nowMs: number): void {
  if (negative.size >= MAX_NEGATIVE) {
    const oldest = negative.keys().next();
    if (!oldest.done) negative.delete(oldest.value);
  }
  negative.set(hash, { message, until: nowMs + NEGATIVE_TTL_MS });
}

/** The remembered refusal of this hash, if any. */
export function rememberedRefusal(hash: string, nowMs: number): string | null {
  const hit = negative.get(hash);
  if (!hit) return null;
  if (hit.until > nowMs) return hit.message;
  negative.delete(hash);
  return null;
}

interface Waiter {
  resolve(row: LookupRow | null): void;
  reject(err: unknown): void;
}

class Coalescer {
  #queued = new Map<string, Waiter[]>();
  #inFlight: Promise<void> | null = null;

  async lookup(db: D1Database, hash: string): Promise<LookupRow | null> {
    let settled = false;
    const answer = new Promise<LookupRow | null>((resolve, reject) => {
      const waiter = { resolve, reject };
      const list = this.#queued.get(hash);
      if (list) list.push(waiter);
      else this.#queued.set(hash, [waiter]);
    }).finally(() => (settled = true));
    while (!settled) {
      if (!this.#inFlight) {
        await this.#flush(db);
        continue;
      }
      const waited = await waitAtMost(this.#inFlight, WAIT_FOR_OTHERS_MS);
      if (!waited && !settled) {
        answer.catch(() => undefined); // abandoned: whatever the slow query says later is not ours
        return this.#alone(db, hash);
      }
    }
    return answer;
  }

  /** Queries for up to MAX_BATCH queued hashes and answers their waiters. */
  async #flush(db: D1Database): Promise<void> {
    const batch = [...this.#queued.entries()].slice(0, MAX_BATCH);
    for (const [h] of batch) this.#queued.delete(h);
    const run = (async () => {
      try {
        const { results } = await db
          .prepare(lookupSql(batch.length))
          .bind(...batch.map(([h]) => h))
          .all<LookupRow>();
        const byHash = new Map(results.map((r) => [r.secret_hash, r]));
        for (const [h, waiters] of batch) for (const w of waiters) w.resolve(byHash.get(h) ?? null);
      } catch (err) {
        for (const [, waiters] of batch) for (const w of waiters) w.reject(err);
      }
    })();
    this.#inFlight = run;
    try {
      await run;
    } finally {
      if (this.#inFlight === run) this.#inFlight = null;
    }
  }

  /** The in-flight query is taking too long (its request may be gone): look this hash up directly. */
  async #alone(db: D1Database, hash: string): Promise<LookupRow | null> {
    const waiters = this.#queued.get(hash) ?? [];
    this.#queued.delete(hash);
    try {
      const row = await db.prepare(lookupSql(1)).bind(hash).first<LookupRow>();
      for (const w of waiters) w.resolve(row);
      return row;
    } catch (err) {
      for (const w of waiters) w.reject(err);
      throw err;
    }
  }
}

/** Whether `p` settled within `ms`. */
async function waitAtMost(p: Promise<void>, ms: number): Promise<boolean> {
  let timer: ReturnType<typeof setTimeout> | undefined;
  const timeout = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([p.then(() => true), timeout]);
  } finally {
    clearTimeout(timer);
  }
}

const coalescer = new Coalescer();

/** The row of this secret hash, or null when D1 has none (see the notes above on cost). */
export function lookupSecret(db: D1Database, hash: string): Promise<LookupRow | null> {
  return coalescer.lookup(db, hash);
}

/** For tests: forget remembered refusals (as a fresh isolate would). */
export function resetRefusals(): void {
  negative.clear();
}
