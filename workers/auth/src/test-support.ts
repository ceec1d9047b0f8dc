import { applyD1Migrations, type D1Migration } from "cloudflare:test";
import { env as workerEnv } from "cloudflare:workers";
import { signAdminContext } from "../../shared/src/admin-context";
import type { Acting } from "./admin/actor";

/**
 * Unit-test support for the auth Worker: its real bindings (local D1 with the migrations applied,
 * KV) plus a fresh Ed25519 signing key, since `PRINCIPAL_SIGNING_JWK` is a secret the unit tests
 * do not get from wrangler.toml.
 */
export type TestEnv = AuthEnv & { TEST_MIGRATIONS: D1Migration[] };

let prepared: { env: AuthEnv; publicJwk: string; gatewaySigningJwk: string } | undefined;

async function ed25519Pair(): Promise<{ priv: string; pub: string }> {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const priv = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const pub = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  return { priv: JSON.stringify({ ...priv, kid: "test", alg: "EdDSA" }), pub: JSON.stringify({ ...pub, kid: "test", alg: "EdDSA" }) };
}

/**
 * The auth env of unit tests, with fresh key pairs: auth's own (principal tokens) and the
 * gateway's (admin contexts, `gatewaySigningJwk` signs what `GATEWAY_VERIFY_JWK` verifies).
 */
export async function testEnv(): Promise<{ env: AuthEnv; publicJwk: string; gatewaySigningJwk: string }> {
  if (prepared) return prepared;
  const base = workerEnv as unknown as TestEnv;
  await applyD1Migrations(base.AUTH_DB, base.TEST_MIGRATIONS);
  const principal = await ed25519Pair();
  const gateway = await ed25519Pair();
  const env = Object.assign(Object.create(null), base, {
    KEY_ENV: "dev",
    PRINCIPAL_SIGNING_JWK: principal.priv,
    GATEWAY_VERIFY_JWK: gateway.pub,
  }) as AuthEnv;
  prepared = { env, publicJwk: principal.pub, gatewaySigningJwk: gateway.priv };
  return prepared;
}

/** An admin call context as the gateway sends it: signed with the gateway's key. */
export async function signedAdminContext(requestId: string): Promise<{ requestId: string; actor: { type: "admin"; token: string } }> {
  const { gatewaySigningJwk } = await testEnv();
  return { requestId, actor: { type: "admin", token: (await signAdminContext(gatewaySigningJwk)).token } };
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
