import { importJWK, type CryptoKey as JoseKey, type JWK } from "jose";

/** Imported Ed25519 JWKs (principal and admin-context tokens), once per isolate per secret value. */
const keyCache = new Map<string, Promise<JoseKey | Uint8Array>>();

export function importKey(jwkJson: string): Promise<JoseKey | Uint8Array> {
  let key = keyCache.get(jwkJson);
  if (!key) {
    key = (async () => {
      const jwk = JSON.parse(jwkJson) as JWK;
      return importJWK(jwk, "EdDSA");
    })();
    keyCache.set(jwkJson, key);
    // A bad secret must not poison the cache forever (a fixed secret is re-read after deploy anyway).
    key.catch(() => keyCache.delete(jwkJson));
  }
  return key;
}

export function kidOf(jwkJson: string): string | undefined {
  try {
    const kid = (JSON.parse(jwkJson) as JWK).kid;
    return typeof kid === "string" ? kid : undefined;
  } catch {
    return undefined;
  }
}
