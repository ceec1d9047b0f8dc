import { describe, expect, it } from "vitest";
import { MAX_PRINCIPAL_TOKEN_CHARS } from "./contracts/principal";
import { publicJwkOf, signPrincipalToken, verifyPrincipalToken } from "./principal-token";

async function keyPair(kid = "k1") {
  const pair = (await crypto.subtle.generateKey({ name: "Ed25519" }, true, ["sign", "verify"])) as CryptoKeyPair;
  const priv = JSON.stringify({ ...((await crypto.subtle.exportKey("jwk", pair.privateKey)) as JsonWebKey), kid, alg: "EdDSA" });
  const pub = JSON.stringify({ ...((await crypto.subtle.exportKey("jwk", pair.publicKey)) as JsonWebKey), kid, alg: "EdDSA" });
  return { priv, pub };
}

const claims = { tenantId: "ten_1", keyId: "key_1", scopes: ["chat" as const] };

describe("principal tokens", () => {
  it("verify with the public key and carry tenant, key and scopes", async () => {
    const { priv, pub } = await keyPair();
    const { token, expiresAt } = await signPrincipalToken(claims, priv);
    expect(token.split(".")).toHaveLength(3);
    expect(expiresAt).toBeGreaterThan(Date.now());
    expect(await verifyPrincipalToken(token, pub)).toEqual({ ok: true, value: claims });
    // The public half derived from the private JWK verifies too (auth checks its own tokens).
    expect(await verifyPrincipalToken(token, publicJwkOf(priv))).toEqual({ ok: true, value: claims });
    expect(publicJwkOf(priv)).not.toContain('"d"');
  });

  it("carry the key's model globs when it has any, even the largest list the keys API allows", async () => {
    const { priv, pub } = await keyPair();
    const scoped = { ...claims, models: ["gpt-4o*", "openai/*"] };
    expect(await verifyPrincipalToken((await signPrincipalToken(scoped, priv)).token, pub)).toEqual({ ok: true, value: scoped });
    const largest = { ...claims, models: Array.from({ length: 100 }, (_, i) => `${i}`.padEnd(256, "m")) };
    const { token } = await signPrincipalToken(largest, priv);
    expect(token.length).toBeLessThanOrEqual(MAX_PRINCIPAL_TOKEN_CHARS);
    expect(await verifyPrincipalToken(token, pub)).toEqual({ ok: true, value: largest });
  });

  it("are refused when signed by another key, tampered with, or expired", async () => {
    const a = await keyPair("a");
    const b = await keyPair("b");
    const { token } = await signPrincipalToken(claims, a.priv);
    expect(await verifyPrincipalToken(token, b.pub)).toMatchObject({ ok: false, error: { code: "invalid_api_key" } });

    const [h, p, s] = token.split(".");
    const forged = JSON.parse(atob(p!.replace(/-/g, "+").replace(/_/g, "/")));
    forged.tid = "ten_other";
    const body = btoa(JSON.stringify(forged)).replace(/\+/g, "-").replace(/\//g, "_").replace(/=+$/, "");
    expect((await verifyPrincipalToken(`${h}.${body}.${s}`, a.pub)).ok).toBe(false);

    const past = Date.now() - 3_600_000;
    const old = await signPrincipalToken(claims, a.priv, past, 60);
    expect((await verifyPrincipalToken(old.token, a.pub)).ok).toBe(false);
  });

  it("a cached verification still ends at the token's expiry", async () => {
    const { priv, pub } = await keyPair();
    const now = Date.now();
    const { token, expiresAt } = await signPrincipalToken(claims, priv, now, 120);
    expect((await verifyPrincipalToken(token, pub, now)).ok).toBe(true);
    expect((await verifyPrincipalToken(token, pub, expiresAt + 1)).ok).toBe(false);
  });

  it("refuse garbage without throwing", async () => {
    const { pub } = await keyPair();
    expect((await verifyPrincipalToken("", pub)).ok).toBe(false);
    expect((await verifyPrincipalToken("a.b.c", pub)).ok).toBe(false);
    expect((await verifyPrincipalToken("x".repeat(5000), pub)).ok).toBe(false);
    expect((await verifyPrincipalToken("a.b.c", "not json")).ok).toBe(false);
  });
});
