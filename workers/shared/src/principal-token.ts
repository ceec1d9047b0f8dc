import { z } from "zod";
import { jwtVerify, SignJWT, type JWK } from "jose";
import { importKey, kidOf } from "./jws-keys";
import { MAX_PRINCIPAL_TOKEN_CHARS, ScopeSchema, type PrincipalClaims } from "./contracts/principal";
import { fail, ok, type Result } from "./result";

/**
 * Principal tokens: the auth Worker signs (EdDSA / Ed25519, JWS compact) who a caller is when it
 * authenticates an API key; tail, billing and model-proxy verify the token before they act for a
 * tenant, so no internal service trusts an unsigned claim. One token is minted per authentication
 * (not per request): the gateway caches the principal, token included, in isolate memory and
 * refreshes it before `tokenExpiresAt`.
 *
 * Usage downstream (env.PRINCIPAL_VERIFY_JWK is the public JWK secret):
 *   const claims = await verifyPrincipalToken(token, env.PRINCIPAL_VERIFY_JWK);
 *   if (!claims.ok) return errorResponse(claims.error, requestId);
 */
export const PRINCIPAL_TOKEN_TTL_SECONDS = 300;
export const PRINCIPAL_TOKEN_ISSUER = "edge-llm-gateway/auth";
export const PRINCIPAL_TOKEN_AUDIENCE = "edge-llm-gateway/internal";

/** The public half of a private Ed25519 JWK (drops `d`): lets auth verify tokens it signed itself. */
export function publicJwkOf(privateJwkJson: string): string {
  const { d: _d, key_ops: _ops, ...pub } = JSON.parse(privateJwkJson) as JWK & { key_ops?: unknown };
  return JSON.stringify(pub);
}

/** Signs the claims; `expiresAt` is epoch ms. */
export async function signPrincipalToken(
  claims: PrincipalClaims,
  signingJwk: string,
  nowMs: number = Date.now(),
  ttlSeconds: number = PRINCIPAL_TOKEN_TTL_SECONDS,
): Promise<{ token: string; expiresAt: number }> {
  const key = await importKey(signingJwk);
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + ttlSeconds;
  const kid = kidOf(signingJwk);
  const payload = claims.models ? { tid: claims.tenantId, scp: claims.scopes, mdl: claims.models } : { tid: claims.tenantId, scp: claims.scopes };
  const token = await new SignJWT(payload)
    .setProtectedHeader(kid ? { alg: "EdDSA", typ: "JWT", kid } : { alg: "EdDSA", typ: "JWT" })
    .setSubject(claims.keyId)
    .setIssuer(PRINCIPAL_TOKEN_ISSUER)
    .setAudience(PRINCIPAL_TOKEN_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key);
  return { token, expiresAt: exp * 1000 };
}

/** Verified tokens, in isolate memory until they expire: a verification costs ~0.1 ms, a hit ~0. */
const verified = new Map<string, { claims: PrincipalClaims; expiresAt: number }>();
const MAX_VERIFIED = 10_000;

function remember(token: string, claims: PrincipalClaims, expiresAt: number, now: number): void {
  if (verified.size >= MAX_VERIFIED) {
    for (const [t, v] of verified) if (v.expiresAt <= now) verified.delete(t);
    // Still full: drop the oldest entries (Map iterates in insertion order).
    for (const t of verified.keys()) {
      if (verified.size < MAX_VERIFIED) break;
      verified.delete(t);
    }
  }
  verified.set(token, { claims, expiresAt });
}

/** `mdl` as signed by auth: the keys API bounds it (100 globs of at most 256 characters). */
const ModelGlobsSchema = z.array(z.string().max(256)).max(100);

const INVALID = {
  code: "invalid_api_key",
  message: "The principal token is missing, invalid or expired. Retry the request.",
} as const;

/**
 * Verifies a principal token: signature (EdDSA with the given public JWK), issuer, audience and
 * expiry. Never throws; a failure is `{ ok: false }` with a 401 `invalid_api_key` error.
 */
export async function verifyPrincipalToken(token: string, verifyJwk: string, nowMs: number = Date.now()): Promise<Result<PrincipalClaims>> {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_PRINCIPAL_TOKEN_CHARS) return fail({ ...INVALID });
  const hit = verified.get(token);
  if (hit) {
    if (hit.expiresAt > nowMs) return ok(hit.claims);
    verified.delete(token);
    return fail({ ...INVALID });
  }
  try {
    const key = await importKey(verifyJwk);
    const { payload } = await jwtVerify(token, key, {
      algorithms: ["EdDSA"],
      issuer: PRINCIPAL_TOKEN_ISSUER,
      audience: PRINCIPAL_TOKEN_AUDIENCE,
      currentDate: new Date(nowMs),
    });
    const scopes = ScopeSchema.array().safeParse(payload["scp"]);
    const models = payload["mdl"] === undefined ? null : ModelGlobsSchema.safeParse(payload["mdl"]);
    const tenantId = payload["tid"];
    if (!scopes.success || (models && !models.success) || typeof tenantId !== "string" || typeof payload.sub !== "string" || typeof payload.exp !== "number") {
      return fail({ ...INVALID });
    }
    const claims: PrincipalClaims = { tenantId, keyId: payload.sub, scopes: scopes.data, ...(models?.success ? { models: models.data } : {}) };
    remember(token, claims, payload.exp * 1000, nowMs);
    return ok(claims);
  } catch {
    return fail({ ...INVALID });
  }
}
