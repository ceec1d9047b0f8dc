import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import type { Acting } from "./admin/actor";

/**
 * Unit-test support for the auth Worker: its real bindings (local D1 with the migrations applied,
 * KV) plus a fresh Ed25519 signing key, since `PRINCIPAL_SIGNING_JWK` is a secret the unit tests
 * do not get from wrangler.toml.
 */
export type TestEnv = AuthEnv & { TEST_MIGRATIONS: D1Migration[] };

let prepared: { env: AuthEnv; publicJwk: string } | undefined;

export async function testEnv(): Promise<{ env: AuthEnv; publicJwk: string }> {
  if (prepared) return prepared;
  const base = workerEnv as unknown as TestEnv;
  await applyD1Migrations(base.AUTH_DB, base.TEST_MIGRATIONS);
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const priv = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const pub = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const env = Object.assign(Object.create(null), base, {
    KEY_ENV: "dev",
    PRINCIPAL_SIGNING_JWK: JSON.stringify({ ...priv, kid: "test", alg: "EdDSA" }),
  }) as AuthEnv;
  prepared = { env, publicJwk: JSON.stringify({ ...pub, kid: "test", alg: "EdDSA" }) };
  return prepared;
}

export const ADMIN: Acting = { requestId: "req_test_admin", actor: { kind: "admin", label: "admin" } };

/** Collects `waitUntil` promises so a test can await the background work (KV write, last_used). */
export function background(): { waitUntil(p: Promise<unknown>): void; settle(): Promise<void> } {
  const pending: Promise<unknown>[] = [];
  return {
    waitUntil: (p) => void pending.push(p),
    settle: async () => {
      await Promise.all(pending.splice(0));
    },
  };
}
