import type { Context, MiddlewareHandler } from "hono";
import { ApiError } from "../../../shared/src";
import type { AuthCallContext } from "../../../shared/src/contracts/auth";
import type { ConsoleSession, SessionCredential, SessionGrant } from "../../../shared/src/contracts/users";
import { unwrap } from "../admin/openapi";
import { cacheNow } from "../middleware/test-clock";
import type { GatewayBindings } from "../types";

/**
 * The console's session cookie and its checks. The cookie carries auth's short-lived session token
 * (workers/auth/src/users/session.ts): `__Host-` (host-only, Path=/, Secure), HttpOnly (no script
 * reads it), SameSite=Strict (never sent on a cross-site request). Every state-changing console
 * call must also carry the session's CSRF token in `x-csrf-token` and, when the browser names an
 * `Origin`, come from the gateway's own: auth checks the token, the gateway the origin.
 */
export const SESSION_COOKIE = "__Host-gw_session";
const SAFE_METHODS = new Set(["GET", "HEAD", "OPTIONS"]);

export function sessionCookie(value: string, maxAgeSeconds: number): string {
  return `${SESSION_COOKIE}=${value}; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=${maxAgeSeconds}`;
}
export const CLEARED_COOKIE = `${SESSION_COOKIE}=; Path=/; HttpOnly; Secure; SameSite=Strict; Max-Age=0`;

function cookieToken(header: string | undefined): string | null {
  if (!header) return null;
  for (const part of header.split(";")) {
    const eq = part.indexOf("=");
    if (eq > 0 && part.slice(0, eq).trim() === SESSION_COOKIE) {
      const value = part.slice(eq + 1).trim();
      return value.length > 0 && value.length <= 4096 ? value : null;
    }
  }
  return null;
}

/** The session credential of a request, as auth is shown it. 401 without a cookie; 403 for a foreign origin. */
export function credentialOf(c: Context<GatewayBindings>): SessionCredential {
  const token = cookieToken(c.req.header("cookie"));
  if (token === null) throw new ApiError({ code: "invalid_session", message: "You are not signed in. Sign in at /console." });
  const changing = !SAFE_METHODS.has(c.req.method);
  if (changing) {
    const origin = c.req.header("origin");
    if (origin !== undefined && origin !== new URL(c.req.url).origin) {
      throw new ApiError({ code: "csrf_failed", message: "Console changes are accepted only from the console's own origin." });
    }
  }
  const csrf = c.req.header("x-csrf-token") ?? null;
  return { token, csrf: csrf !== null && csrf.length <= 256 ? csrf : null, changing };
}

/** The call context of a console request to auth: the session, and the gateway's clock (honoured only in the test stack). */
export function sessionContext(c: Context<GatewayBindings>): AuthCallContext {
  return { requestId: c.get("requestId"), actor: { type: "session", ...c.get("consoleCredential") }, nowMs: cacheNow() };
}

/** Writes the cookie when auth (re)issued a token. */
export function applyGrant(c: Context<GatewayBindings>, grant: SessionGrant): ConsoleSession {
  if (grant.token) c.header("set-cookie", sessionCookie(grant.token.value, grant.token.maxAgeSeconds), { append: true });
  return grant.session;
}

/**
 * Every `/console/api/*` route but sign-in and invite acceptance: a live session (auth checks the
 * token's signature, the session row, and the CSRF token of a change), its rotated cookie when due.
 */
export function consoleSession(): MiddlewareHandler<GatewayBindings> {
  return async function consoleSessionMiddleware(c, next) {
    c.set("consoleCredential", credentialOf(c));
    const session = applyGrant(c, unwrap(await c.env.AUTH.checkSession(sessionContext(c))));
    c.set("consoleSession", session);
    c.header("cache-control", "no-store");
    await next();
  };
}
