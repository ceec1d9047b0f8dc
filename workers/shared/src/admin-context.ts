import { jwtVerify, SignJWT } from "jose";
import { importKey, kidOf } from "./jws-keys";
import { fail, ok, type Result } from "./result";

/**
 * Admin contexts: when the gateway has checked the admin token (which only it holds), it says so to
 * auth, billing and model-proxy with a short-lived JWS it signs with its own Ed25519 key
 * (GATEWAY_SIGNING_JWK; they verify with GATEWAY_VERIFY_JWK), never with an unsigned `admin` flag.
 * A forgotten check in one gateway route, or any other caller of a binding, therefore cannot act as
 * the platform operator in another Worker. The gateway mints one per isolate and reuses it while it
 * has more than a minute to live (signing costs ~0.1 ms; a verified token is cached downstream).
 */
export const ADMIN_CONTEXT_TTL_SECONDS = 180;
export const ADMIN_CONTEXT_ISSUER = "edge-llm-gateway/gateway";
export const ADMIN_CONTEXT_AUDIENCE = "edge-llm-gateway/internal";
export const ADMIN_CONTEXT_SUBJECT = "admin";
const MAX_TOKEN_CHARS = 4096;

export async function signAdminContext(signingJwk: string, nowMs: number = Date.now()): Promise<{ token: string; expiresAt: number }> {
  const key = await importKey(signingJwk);
  const iat = Math.floor(nowMs / 1000);
  const exp = iat + ADMIN_CONTEXT_TTL_SECONDS;
  const kid = kidOf(signingJwk);
  const token = await new SignJWT({})
    .setProtectedHeader(kid ? { alg: "EdDSA", typ: "JWT", kid } : { alg: "EdDSA", typ: "JWT" })
    .setSubject(ADMIN_CONTEXT_SUBJECT)
    .setIssuer(ADMIN_CONTEXT_ISSUER)
    .setAudience(ADMIN_CONTEXT_AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(key);
  return { token, expiresAt: exp * 1000 };
}

const verified = new Map<string, number>();

const REFUSED = {
  code: "invalid_api_key",
  message: "The admin context is missing, invalid or expired: only the gateway, after checking the admin token, can act as the admin.",
} as const;

/** Verifies an admin context (signature, issuer, audience, subject, expiry); never throws. */
export async function verifyAdminContext(token: unknown, verifyJwk: string, nowMs: number = Date.now()): Promise<Result<true>> {
  if (typeof token !== "string" || token.length === 0 || token.length > MAX_TOKEN_CHARS) return fail({ ...REFUSED });
  const until = verified.get(token);
  if (until !== undefined) return until > nowMs ? ok(true) : fail({ ...REFUSED });
  try {
    const { payload } = await jwtVerify(token, await importKey(verifyJwk), {
      algorithms: ["EdDSA"],
      issuer: ADMIN_CONTEXT_ISSUER,
      audience: ADMIN_CONTEXT_AUDIENCE,
      subject: ADMIN_CONTEXT_SUBJECT,
      currentDate: new Date(nowMs),
    });
    if (typeof payload.exp !== "number") return fail({ ...REFUSED });
    // Few distinct tokens exist (one per gateway isolate per few minutes): a small map suffices.
    if (verified.size > 1000) verified.clear();
    verified.set(token, payload.exp * 1000);
    return ok(true);
  } catch {
    return fail({ ...REFUSED });
  }
}
