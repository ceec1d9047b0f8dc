import type { Principal } from "../../../shared/src";

/**
 * What auth knows about an active key secret, minus the principal token: the value cached in KV
 * `AUTH_CACHE` under `key:<sha256 of the key>`. Only active keys are cached (no negative entries:
 * a new key has a never-seen hash, and garbage is rejected by the checksum before any lookup).
 */
export type KeyRecord = Omit<Principal, "token" | "tokenExpiresAt" | "keyExpiresAt"> & {
  v: 1;
  /** Epoch ms at which this secret stops working (key expiry or rotation grace); null = never. */
  expiresAt: number | null;
};

/**
 * KV entries live at most this long even if nothing deletes them (a failed delete, say): every
 * change to a key or tenant deletes them explicitly, this only bounds the damage of a lost delete.
 */
export const KV_TTL_SECONDS = 300;
/** KV's minimum expirationTtl. */
const KV_MIN_TTL_SECONDS = 60;

const kvKey = (hash: string) => `key:${hash}`;

export async function readCachedKey(kv: KVNamespace, hash: string): Promise<KeyRecord | null> {
  const value = await kv.get<KeyRecord>(kvKey(hash), "json");
  return value && value.v === 1 ? value : null;
}

/** Caches an active key, never beyond its own expiry. */
export async function writeCachedKey(kv: KVNamespace, hash: string, record: KeyRecord, nowMs: number): Promise<void> {
  let ttl = KV_TTL_SECONDS;
  if (record.expiresAt !== null) ttl = Math.min(ttl, Math.floor((record.expiresAt - nowMs) / 1000));
  if (ttl < KV_MIN_TTL_SECONDS) return; // expires too soon to be worth caching (KV can't hold it shorter)
  await kv.put(kvKey(hash), JSON.stringify(record), { expirationTtl: ttl });
}

/**
 * Deletes the cached entries of these secrets: from KV and from this isolate's token memo.
 * KV deletes are visible at once in this location; elsewhere within KV's propagation delay (≤60 s).
 */
export async function evictCachedKeys(kv: KVNamespace, hashes: readonly string[]): Promise<void> {
  for (const h of hashes) tokenMemo.delete(h);
  await Promise.all(hashes.map((h) => kv.delete(kvKey(h))));
}

/**
 * Minted tokens in this auth isolate, by key hash, reused while the record they were minted for is
 * unchanged and they have at least TOKEN_REUSE_MIN_MS left. Saves an Ed25519 signature per cache
 * miss of the gateway; never decides validity (the record is re-read from KV/D1 every call).
 */
export const tokenMemo = new Map<string, { recordJson: string; token: string; expiresAt: number }>();
export const TOKEN_REUSE_MIN_MS = 120_000;
const MAX_MEMO = 10_000;

export function memoToken(hash: string, recordJson: string, token: string, expiresAt: number): void {
  if (tokenMemo.size >= MAX_MEMO) {
    const oldest = tokenMemo.keys().next();
    if (!oldest.done) tokenMemo.delete(oldest.value);
  }
  tokenMemo.set(hash, { recordJson, token, expiresAt });
}
