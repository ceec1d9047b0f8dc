// Local secrets for development and tests: an admin token, the Ed25519 key pairs that sign principal
// tokens (auth) and admin contexts (gateway), and the secrets Worker's master key. Never used in production (`wrangler secret put` is).
import { webcrypto, randomBytes } from "node:crypto";

/** Generates a fresh set. `adminToken` overrides the generated admin token. */
export async function generateLocalSecrets({ adminToken } = {}) {
  const principal = await ed25519Pair();
  const gateway = await ed25519Pair();
  return {
    ADMIN_TOKEN: adminToken ?? `adm_${randomBytes(24).toString("base64url")}`,
    PRINCIPAL_SIGNING_JWK: principal.signing,
    PRINCIPAL_VERIFY_JWK: principal.verify,
    // The gateway signs admin contexts with it; auth, billing and model-proxy verify them.
    GATEWAY_SIGNING_JWK: gateway.signing,
    GATEWAY_VERIFY_JWK: gateway.verify,
    // Versioned master keys: {"current": <version>, "keys": {<version>: base64 AES-256 key}}.
    MASTER_KEYS: JSON.stringify({ current: "1", keys: { 1: randomBytes(32).toString("base64") } }),
  };
}

/** A fresh Ed25519 key pair as private (signing) and public (verifying) JWK JSON. */
async function ed25519Pair() {
  const pair = await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const privateJwk = await webcrypto.subtle.exportKey("jwk", pair.privateKey);
  const publicJwk = await webcrypto.subtle.exportKey("jwk", pair.publicKey);
  const kid = randomBytes(6).toString("hex");
  return {
    signing: JSON.stringify({ ...privateJwk, kid, alg: "EdDSA" }),
    verify: JSON.stringify({ ...publicJwk, kid, alg: "EdDSA" }),
  };
}

/** Which secrets each Worker receives (mirrors `[secrets] required` in each wrangler.toml). */
export function secretsFor(workerName, s) {
  switch (workerName) {
    case "gateway":
      return { ADMIN_TOKEN: s.ADMIN_TOKEN, GATEWAY_SIGNING_JWK: s.GATEWAY_SIGNING_JWK };
    case "auth":
      return { PRINCIPAL_SIGNING_JWK: s.PRINCIPAL_SIGNING_JWK, GATEWAY_VERIFY_JWK: s.GATEWAY_VERIFY_JWK };
    case "tail":
      return { PRINCIPAL_VERIFY_JWK: s.PRINCIPAL_VERIFY_JWK };
    case "billing":
    case "model-proxy":
      return { PRINCIPAL_VERIFY_JWK: s.PRINCIPAL_VERIFY_JWK, GATEWAY_VERIFY_JWK: s.GATEWAY_VERIFY_JWK };
    case "secrets":
      return { MASTER_KEYS: s.MASTER_KEYS };
    default:
      return {};
  }
}
