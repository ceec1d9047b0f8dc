import { signAdminContext } from "../../../shared/src/admin-context";
import { signPrincipalToken } from "../../../shared/src/principal-token";

/** A fresh Ed25519 key pair and a token signed with it, for unit tests of token-verifying code. */
export async function testPrincipal(claims = { tenantId: "ten_1", keyId: "key_1", scopes: ["chat" as const, "embeddings" as const] }) {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const priv = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const pub = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const { token } = await signPrincipalToken(claims, JSON.stringify({ ...priv, alg: "EdDSA" }));
  return { token, verifyJwk: JSON.stringify({ ...pub, alg: "EdDSA" }), claims };
}

/** A fresh gateway key pair and an admin context signed with it (what the gateway sends for the admin). */
export async function testAdminContext() {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const priv = (await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey;
  const pub = (await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey;
  const { token } = await signAdminContext(JSON.stringify({ ...priv, alg: "EdDSA" }));
  return { token, verifyJwk: JSON.stringify({ ...pub, alg: "EdDSA" }) };
}
