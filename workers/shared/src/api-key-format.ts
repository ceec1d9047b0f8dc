import { randomBase62 } from "./ids";

/**
 * The gateway's API key format: `sk-<env>-<32 random base62><6 base62 checksum>`, e.g.
 * `sk-dev-4fK…Qz0a1B2c`. The fixed `sk-<env>-` prefix lets secret scanners (and humans) spot a
 * leaked key and tell environments apart; 32 base62 characters carry ~190 bits of randomness; the
 * CRC-32 checksum over everything before it lets the gateway reject typos and garbage before any
 * cache or database lookup (it is not a security property — the random part is).
 */
export const API_KEY_RANDOM_LENGTH = 32;
export const API_KEY_CHECKSUM_LENGTH = 6;
/** How much of the random part is kept for display (`sk-dev-AbCd1234`); the rest is never stored. */
export const API_KEY_PREFIX_RANDOM_CHARS = 8;

const KEY_RE = /^sk-([a-z0-9]{1,16})-([A-Za-z0-9]{32})([A-Za-z0-9]{6})$/;
const ENV_RE = /^[a-z0-9]{1,16}$/;
const ALPHABET = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";

let crcTable: Uint32Array | undefined;
function crc32(text: string): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let crc = 0xffffffff;
  for (const byte of new TextEncoder().encode(text)) crc = crcTable[(crc ^ byte) & 0xff]! ^ (crc >>> 8);
  return (crc ^ 0xffffffff) >>> 0;
}

/** CRC-32 as 6 base62 characters (62^6 > 2^32, so every value fits). */
export function apiKeyChecksum(body: string): string {
  let n = crc32(body);
  let out = "";
  for (let i = 0; i < API_KEY_CHECKSUM_LENGTH; i++) {
    out = ALPHABET[n % 62] + out;
    n = Math.floor(n / 62);
  }
  return out;
}

/** A fresh key for environment `env` (the auth Worker's `KEY_ENV`, e.g. `dev`, `live`). */
export function generateApiKey(env: string): string {
  if (!ENV_RE.test(env)) throw new Error(`KEY_ENV must match ${ENV_RE}`);
  const body = `sk-${env}-${randomBase62(API_KEY_RANDOM_LENGTH)}`;
  return body + apiKeyChecksum(body);
}

export type ParsedApiKey = { ok: true; env: string; prefix: string } | { ok: false; reason: "malformed" | "checksum" };

/** Checks shape and checksum without any I/O. Never include the input in an error message. */
export function parseApiKey(key: string): ParsedApiKey {
  const m = KEY_RE.exec(key);
  if (!m) return { ok: false, reason: "malformed" };
  const [, env, random, checksum] = m as unknown as [string, string, string, string];
  if (apiKeyChecksum(`sk-${env}-${random}`) !== checksum) return { ok: false, reason: "checksum" };
  return { ok: true, env, prefix: `sk-${env}-${random.slice(0, API_KEY_PREFIX_RANDOM_CHARS)}` };
}

/** SHA-256 of the whole key, lowercase hex: the only form in which a key is ever stored or cached. */
export async function hashApiKey(key: string): Promise<string> {
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(key));
  return [...new Uint8Array(digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

/**
 * Constant-time string comparison (for hashes and the admin token). Uses workerd's
 * `crypto.subtle.timingSafeEqual` when present; otherwise an XOR loop over equal-length digests.
 * Both sides are hashed first so that neither the length nor the content leaks through timing.
 */
export async function timingSafeEqualStrings(a: string, b: string): Promise<boolean> {
  const enc = new TextEncoder();
  const [da, db] = await Promise.all([crypto.subtle.digest("SHA-256", enc.encode(a)), crypto.subtle.digest("SHA-256", enc.encode(b))]);
  const subtle = crypto.subtle as SubtleCrypto & { timingSafeEqual?: (x: ArrayBuffer, y: ArrayBuffer) => boolean };
  if (typeof subtle.timingSafeEqual === "function") return subtle.timingSafeEqual(da, db);
  const x = new Uint8Array(da);
  const y = new Uint8Array(db);
  let diff = 0;
  for (let i = 0; i < x.length; i++) diff |= x[i]! ^ y[i]!;
  return diff === 0;
}
