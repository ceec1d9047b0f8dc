import { timingSafeEqualStrings } from "../../../shared/src";

/**
 * Password hashing: PBKDF2-HMAC-SHA-256 through WebCrypto, at OWASP's current work factor for it
 * (Password Storage Cheat Sheet: 600,000 iterations).
 *
 * Workers' WebCrypto refuses a single PBKDF2 derivation above 100,000 iterations (workerd's
 * `checkPbkdfLimits`, a guard from when a Worker had 50 ms of CPU; cloudflare/workerd#1346). So
 * the work is done as ROUNDS chained derivations of ITERATIONS each: round 1 derives from the
 * password, each next round from the previous round's 256 bits, same salt. A guess costs an
 * attacker the same 600,000 sequential HMAC iterations (no round can start before the previous
 * one ends), i.e. OWASP's count; the price is a format of our own, recorded in every stored hash
 * (`pbkdf2-sha256$6x100000$<salt>$<hash>`) so the factor can rise later: a hash with fewer rounds
 * than today's is re-hashed at the user's next successful sign-in (`needsRehash`). Measured cost:
 * see the README (Users and the console).
 *
 * Argon2id/scrypt (OWASP's first choices) are not in WebCrypto; a WASM build would cost the
 * memory they are designed to spend inside a 128 MB isolate. PBKDF2 is what the platform offers natively.
 */
export const ITERATIONS = 100_000;
export const ROUNDS = 6;
const SALT_BYTES = 16;
const HASH_BITS = 256;
const SCHEME = "pbkdf2-sha256";
/** A stored hash never asks for more work than this (a corrupted row must not become a CPU sink). */
const MAX_ROUNDS = 20;

const b64url = (bytes: Uint8Array): string =>
  btoa(String.fromCharCode(...bytes))
    .replace(/\+/g, "-")
    .replace(/\//g, "_")
    .replace(/=+$/, "");
function fromB64url(text: string): Uint8Array {
  const bin = atob(text.replace(/-/g, "+").replace(/_/g, "/"));
  return Uint8Array.from(bin, (c) => c.charCodeAt(0));
}

async function derive(password: string, salt: Uint8Array, rounds: number, iterations: number): Promise<Uint8Array> {
  let material: Uint8Array = new TextEncoder().encode(password);
  for (let i = 0; i < rounds; i++) {
    const key = await crypto.subtle.importKey("raw", material, "PBKDF2", false, ["deriveBits"]);
    material = new Uint8Array(await crypto.subtle.deriveBits({ name: "PBKDF2", hash: "SHA-256", salt, iterations }, key, HASH_BITS));
  }
  return material;
}

export async function hashPassword(password: string): Promise<string> {
  const salt = crypto.getRandomValues(new Uint8Array(SALT_BYTES));
  const hash = await derive(password, salt, ROUNDS, ITERATIONS);
  return `${SCHEME}$${ROUNDS}x${ITERATIONS}$${b64url(salt)}$${b64url(hash)}`;
}

interface Parsed {
  rounds: number;
  iterations: number;
  salt: Uint8Array;
  hash: string;
}

function parse(stored: string): Parsed | null {
  const m = /^pbkdf2-sha256\$(\d{1,2})x(\d{1,6})\$([A-Za-z0-9_-]{16,64})\$([A-Za-z0-9_-]{43})$/.exec(stored);
  if (!m) return null;
  const rounds = Number(m[1]);
  const iterations = Number(m[2]);
  if (rounds < 1 || rounds > MAX_ROUNDS || iterations < 1 || iterations > ITERATIONS) return null;
  return { rounds, iterations, salt: fromB64url(m[3]!), hash: m[4]! };
}

/** A hash that no password matches, verified against when the user does not exist (same work, same time). */
const DECOY = `${SCHEME}$${ROUNDS}x${ITERATIONS}$AAAAAAAAAAAAAAAAAAAAAA$AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA`;

/**
 * Whether `password` matches `stored` (null: no such user — the decoy is verified instead, so an
 * unknown email costs what a wrong password does). Compared in constant time.
 */
export async function verifyPassword(password: string, stored: string | null): Promise<boolean> {
  const parsed = parse(stored ?? DECOY);
  if (!parsed) return false;
  const derived = b64url(await derive(password, parsed.salt, parsed.rounds, parsed.iterations));
  const same = await timingSafeEqualStrings(derived, parsed.hash);
  return same && stored !== null;
}

/** A hash made with less work than today's factor: re-hash it after the next successful sign-in. */
export function needsRehash(stored: string): boolean {
  const parsed = parse(stored);
  return !parsed || parsed.rounds * parsed.iterations < ROUNDS * ITERATIONS;
}
