import type { Context, MiddlewareHandler } from "hono";
import { ApiError, hashApiKey, parseApiKey, type Principal, type Result } from "../../../shared/src";
import type { GatewayBindings } from "../types";
import { PRINCIPAL_CACHE_TTL_MS } from "../../../shared/src/contracts/propagation";
import { cacheNow } from "./test-clock";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * API-key authentication for `/v1` routes: `Authorization: Bearer <key>` (what the OpenAI SDKs
 * send) or `x-api-key: <key>` (what Anthropic's SDK sends). Sets `c.var.principal`.
 *
 * Lookup order: format + checksum (no I/O: typos and garbage never leave the isolate) → this
 * isolate's principal cache, keyed by the key's SHA-256 → `AUTH.authenticate` (auth: KV
 * `AUTH_CACHE` → D1). (No cross-request single-flight: workerd ties a promise to the request
 * that created it, and one auth call per key per isolate per TTL is already negligible.)
 *
 * Revocation / change propagation — worst case until a revoked (or re-scoped, re-limited) key is
 * refused everywhere:
 *   - the isolate that served the admin request: next request (its entry is evicted here);
 *   - another gateway isolate in the same location: ≤ PRINCIPAL_CACHE_TTL_MS (2 s) — its
 *     in-memory entry lives that long; on expiry it asks auth, whose KV entry for the key was
 *     deleted in this location (a key change) or no longer matches the tenant's generation (a
 *     tenant change: one KV write, whatever the number of keys), so auth reads D1 and refuses;
 *   - another location: ≤ 60 s (KV's global propagation of the delete or the new generation,
 *     during which that location's KV may still return the cached entry) + 2 s (isolate cache);
 *   - a lost KV write (auth crashed after the D1 write): ≤ KV_TTL_SECONDS (300 s) + 2 s.
 * Principal tokens already handed downstream live ≤ 5 min but are only presented by requests that
 * were authenticated before the revocation. Key expiry is exact everywhere: no cache outlives
 * `keyExpiresAt`.
 */
/**
 * Short on purpose (contracts/propagation.ts): it bounds how long another isolate of the same
 * location may still accept a revoked key. It costs one auth call per key per isolate every 2 s —
 * nothing next to the request rate of a key busy enough to be cached. Its clock is `cacheNow`
 * (`Date.now`, moved by the tests in the test stack).
 */
export { PRINCIPAL_CACHE_TTL_MS };
/** A cached principal is only served while its token has at least this long left. */
export const TOKEN_REFRESH_MARGIN_MS = 60_000;
const MAX_ENTRIES = 10_000;

interface Entry {
  principal: Principal;
  freshUntil: number;
}

const cache = new Map<string, Entry>();

function freshUntil(p: Principal, now: number): number {
  return Math.min(now + PRINCIPAL_CACHE_TTL_MS, p.tokenExpiresAt - TOKEN_REFRESH_MARGIN_MS, p.keyExpiresAt ?? Infinity);
}

function remember(hash: string, principal: Principal, now: number): void {
  if (cache.size >= MAX_ENTRIES) {
    for (const [h, e] of cache) if (e.freshUntil <= now) cache.delete(h);
    while (cache.size >= MAX_ENTRIES) {
      const oldest = cache.keys().next();
      if (oldest.done) break;
      cache.delete(oldest.value);
    }
  }
  cache.delete(hash); // re-insert at the end: Map order doubles as recency
  cache.set(hash, { principal, freshUntil: freshUntil(principal, now) });
}

/**
 * Drops this isolate's cached principals of a key or of a whole tenant. Called by the admin and
 * self-service routes after auth confirmed a revoke/patch/rotate/disable, so the next request on
 * this isolate re-authenticates.
 */
export function evictCachedPrincipals(match: { keyId?: string; tenantId?: string }): void {
  for (const [hash, e] of cache) {
    if ((match.keyId && e.principal.keyId === match.keyId) || (match.tenantId && e.principal.tenantId === match.tenantId)) cache.delete(hash);
  }
}

/** The presented key: Bearer token first, then `x-api-key`; null if neither is there. */
export function readApiKey(headers: Headers): string | null {
  const authorization = headers.get("authorization");
  if (authorization) {
    // Everything after the scheme is the key (checked by format next): "Bearer a b" is a bad key,
    // not a missing one.
    const m = /^Bearer\s+(.+)$/i.exec(authorization);
    if (m) return m[1]!.trim();
  }
  const xApiKey = headers.get("x-api-key")?.trim();
  return xApiKey ? xApiKey : null;
}

const MISSING = new ApiError({
  code: "missing_api_key",
  message: "You didn't provide an API key. Send it in an Authorization header using Bearer auth (Authorization: Bearer YOUR_KEY) or in an x-api-key header.",
});

/** Resolves the principal for a presented key, via the isolate cache or one (shared) auth call. */
export async function principalFor(c: Context<GatewayBindings>, apiKey: string): Promise<Principal> {
  const parsed = parseApiKey(apiKey);
  if (!parsed.ok) {
    logRefusal(c, "invalid_api_key", parsed.reason);
    throw new ApiError({
      code: "invalid_api_key",
      message:
        parsed.reason === "checksum"
          ? "Incorrect API key provided: the key's checksum does not match (a typo?)."
          : "Incorrect API key provided. Check the key, or create a new one.",
    });
  }
  const hash = await hashApiKey(apiKey);
  const now = cacheNow();
  const hit = cache.get(hash);
  if (hit && hit.freshUntil > now) return hit.principal;

  let result: Result<Principal>;
  try {
    result = await c.env.AUTH.authenticate(apiKey);
  } catch (err) {
    log.error("gateway", "auth unavailable", { requestId: c.get("requestId"), message: errorMessage(err) });
    throw new ApiError({ code: "service_unavailable", message: "Authentication is temporarily unavailable. Retry the request." });
  }
  if (!result.ok) {
    cache.delete(hash);
    logRefusal(c, result.error.code, "refused by auth");
    throw ApiError.from(result.error);
  }
  remember(hash, result.value, cacheNow());
  return result.value;
}

/**
 * One structured line per refused key, so operators can see credential-stuffing or a client with a
 * stale key. It names the request and why — never the presented key or any part of it.
 */
function logRefusal(c: Context<GatewayBindings>, code: string, reason: string): void {
  log.warn("gateway", "api key refused", { requestId: c.get("requestId"), code, detail: reason });
}

/** The middleware every authenticated `/v1` route uses. 401 in OpenAI's shape when it fails. */
export function apiKeyAuth(): MiddlewareHandler<GatewayBindings> {
  return async function apiKeyAuthMiddleware(c, next) {
    // Already authenticated by an outer `/v1/*` use of this middleware: nothing to do twice.
    if (c.get("principal")) return next();
    const apiKey = readApiKey(c.req.raw.headers);
    if (!apiKey) throw MISSING;
    c.set("principal", await principalFor(c, apiKey));
    await next();
  };
}
