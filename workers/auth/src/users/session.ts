import { jwtVerify, SignJWT } from "jose";
import { fail, newId, ok, randomBase62, timingSafeEqualStrings, type Result } from "../../../shared/src";
import { importKey, kidOf } from "../../../shared/src/jws-keys";
import { publicJwkOf } from "../../../shared/src/principal-token";
import type { SessionCredential } from "../../../shared/src/contracts/users";

/**
 * Console sessions. The browser holds a short-lived token (JWS, EdDSA with auth's own signing key,
 * audience `…/console`) in an `HttpOnly; Secure; SameSite=Strict` cookie; the token names a session
 * row (`sessions`), which is the authority: logout revokes the row and every token of it is refused
 * at once, whatever its expiry. Tokens live TOKEN_TTL_SECONDS and are rotated (a fresh token for
 * the same session) on any request once older than ROTATE_AFTER_SECONDS, so a copied cookie is
 * worth minutes; the session itself ends SESSION_TTL_SECONDS after sign-in (absolute).
 *
 * CSRF: every state-changing console call carries `x-csrf-token`, which must equal the session's
 * own random token (compared in constant time). A page of another origin cannot read it (it is
 * returned only in JSON bodies to same-origin fetches), and SameSite=Strict keeps the cookie off
 * cross-site requests anyway: two independent defences.
 */
export const TOKEN_TTL_SECONDS = 15 * 60;
export const ROTATE_AFTER_SECONDS = 5 * 60;
export const SESSION_TTL_SECONDS = 12 * 3600;
const ISSUER = "edge-llm-gateway/auth";
const AUDIENCE = "edge-llm-gateway/console";

export interface SessionRow {
  id: string;
  user_id: string;
  csrf: string;
  created_at: number;
  expires_at: number;
  revoked_at: number | null;
}

export const INVALID_SESSION = {
  code: "invalid_session",
  message: "You are not signed in, or your session has ended. Sign in again.",
} as const;

export async function signSessionToken(env: AuthEnv, session: SessionRow, nowMs: number): Promise<{ value: string; maxAgeSeconds: number }> {
  const iat = Math.floor(nowMs / 1000);
  const exp = Math.min(iat + TOKEN_TTL_SECONDS, session.expires_at);
  const kid = kidOf(env.PRINCIPAL_SIGNING_JWK);
  const value = await new SignJWT({ sid: session.id })
    .setProtectedHeader(kid ? { alg: "EdDSA", typ: "JWT", kid } : { alg: "EdDSA", typ: "JWT" })
    .setSubject(session.user_id)
    .setIssuer(ISSUER)
    .setAudience(AUDIENCE)
    .setIssuedAt(iat)
    .setExpirationTime(exp)
    .sign(await importKey(env.PRINCIPAL_SIGNING_JWK));
  return { value, maxAgeSeconds: exp - iat };
}

export function newSessionRow(userId: string, nowSec: number): SessionRow {
  return { id: newId("ses"), user_id: userId, csrf: randomBase62(43), created_at: nowSec, expires_at: nowSec + SESSION_TTL_SECONDS, revoked_at: null };
}

export function insertSession(db: D1Database, row: SessionRow): D1PreparedStatement {
  return db
    .prepare("INSERT INTO sessions (id, user_id, csrf, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5)")
    .bind(row.id, row.user_id, row.csrf, row.created_at, row.expires_at);
}

let verifyJwk: { signing: string; verify: string } | undefined;
function verifyJwkOf(env: AuthEnv): string {
  if (verifyJwk?.signing !== env.PRINCIPAL_SIGNING_JWK) verifyJwk = { signing: env.PRINCIPAL_SIGNING_JWK, verify: publicJwkOf(env.PRINCIPAL_SIGNING_JWK) };
  return verifyJwk.verify;
}

export interface LiveSession {
  row: SessionRow;
  /** The token's issue time (unix seconds): rotation is due when it is old. */
  issuedAt: number;
}

/**
 * The live session a cookie names: a valid signature, an unexpired token, a row neither revoked nor
 * past its absolute end, and — for a state-changing call — the session's CSRF token. Every failure
 * is one answer (401 `invalid_session`, or 403 `csrf_failed`) and changes nothing.
 */
export async function liveSession(env: AuthEnv, credential: SessionCredential, nowMs: number): Promise<Result<LiveSession>> {
  let sid: string;
  let userId: string;
  let issuedAt: number;
  try {
    const { payload } = await jwtVerify(credential.token, await importKey(verifyJwkOf(env)), {
      algorithms: ["EdDSA"],
      issuer: ISSUER,
      audience: AUDIENCE,
      currentDate: new Date(nowMs),
    });
    if (typeof payload["sid"] !== "string" || typeof payload.sub !== "string" || typeof payload.iat !== "number") return fail({ ...INVALID_SESSION });
    sid = payload["sid"];
    userId = payload.sub;
    issuedAt = payload.iat;
  } catch {
    return fail({ ...INVALID_SESSION });
  }
  const row = await env.AUTH_DB.prepare("SELECT * FROM sessions WHERE id = ?1").bind(sid).first<SessionRow>();
  const nowSec = Math.floor(nowMs / 1000);
  if (!row || row.user_id !== userId || row.revoked_at !== null || row.expires_at <= nowSec) return fail({ ...INVALID_SESSION });
  if (credential.changing && (credential.csrf === null || !(await timingSafeEqualStrings(credential.csrf, row.csrf)))) {
    return fail({
      code: "csrf_failed",
      message: "This change needs the session's CSRF token in the x-csrf-token header (GET /console/api/session returns it).",
    });
  }
  return ok({ row, issuedAt });
}

export async function revokeSession(db: D1Database, sessionId: string, nowSec: number): Promise<void> {
  await db.prepare("UPDATE sessions SET revoked_at = ?2 WHERE id = ?1 AND revoked_at IS NULL").bind(sessionId, nowSec).run();
}
