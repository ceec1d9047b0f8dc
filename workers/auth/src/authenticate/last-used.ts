/**
 * `last_used_at` without a D1 write per request: the gateway only calls `authenticate` on a miss
 * of its in-isolate cache (about once per key per isolate per cache TTL), and auth writes
 * `last_used_at` at most once per FLUSH_INTERVAL_MS per key per auth isolate, after answering
 * (`waitUntil`). The stored value is therefore accurate to about a minute plus the gateway's
 * cache TTL, which is what a "last used" column is for.
 */
export const FLUSH_INTERVAL_MS = 60_000;

const lastFlush = new Map<string, number>();
const MAX_TRACKED = 10_000;

/** Returns the D1 write to perform, or null if this key was recorded recently enough. */
export function lastUsedWrite(db: D1Database, keyId: string, nowMs: number): D1PreparedStatement | null {
  const prev = lastFlush.get(keyId);
  if (prev !== undefined && nowMs - prev < FLUSH_INTERVAL_MS) return null;
  if (lastFlush.size >= MAX_TRACKED) lastFlush.clear();
  lastFlush.set(keyId, nowMs);
  const sec = Math.floor(nowMs / 1000);
  return db.prepare("UPDATE api_keys SET last_used_at = ?1 WHERE id = ?2 AND (last_used_at IS NULL OR last_used_at < ?1)").bind(sec, keyId);
}

/** For tests: forget what was flushed. */
export function resetLastUsed(): void {
  lastFlush.clear();
}
