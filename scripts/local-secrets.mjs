// Local secrets for development and tests: an admin token, the Ed25519 key pair that signs principal
// tokens, and the secrets Worker's master key. Never used in production (`wrangler secret put` is).
import { webcrypto, randomBytes } from "node:crypto";

/** Generates a fresh set. `adminToken` overrides the generated admin token. */
export async function generateLocalSecrets({ adminToken } = {}) {
  const pair = await webcrypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"]);
  const privateJwk = await webcrypto.subtle.exportKey("jwk", pair.privateKey);
  const publicJwk = await webcrypto.subtle.exportKey("jwk", pair.publicKey);
  const kid = randomBytes(6).toString("hex");
  return {
    ADMIN_TOKEN: adminToken ?? `adm_${randomBytes(24).toString("base64url")}`,
    PRINCIPAL_SIGNING_JWK: JSON.stringify({ ...privateJwk, kid, alg: "EdDSA" }),
    PRINCIPAL_VERIFY_JWK: JSON.stringify({ ...publicJwk, kid, alg: "EdDSA" }),
    // Versioned master keys: {"current": <version>, "keys": {<version>: base64 AES-256 key}}.
    MASTER_KEYS: JSON.stringify({ current: "1", keys: { 1: randomBytes(32).toString("base64") } }),
  };
}

/** Which secrets each Worker receives (mirrors `[secrets] required` in each wrangler.toml). */
export function secretsFor(workerName, s) {
  switch (workerName) {
    case "gateway":
      return { ADMIN_TOKEN: s.ADMIN_TOKEN };
    case "auth":
      return { PRINCIPAL_SIGNING_JWK: s.PRINCIPAL_SIGNING_JWK };
    case "tail":
    case "billing":
    case "model-proxy":
      return { PRINCIPAL_VERIFY_JWK: s.PRINCIPAL_VERIFY_JWK };
    case "secrets":
      return { MASTER_KEYS: s.MASTER_KEYS };
    default:
      return {};
  }
}
