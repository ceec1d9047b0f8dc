import type { MiddlewareHandler } from "hono";
import { ApiError, type Principal } from "../../../shared/src";
import type { GatewayBindings } from "../types";

/**
 * CORS, off by default. Two sources of allowed origins, both exact (`https://app.example.com`):
 *   - platform-wide, `CORS_ALLOWED_ORIGINS` (gateway var, comma-separated): every key may be used
 *     from these pages;
 *   - per tenant, the tenant's `cors_origins` (admin tenant API, carried in the key's principal as
 *     `tenantCorsOrigins`), honoured when `CORS_TENANT_ORIGINS = "true"` (per-tenant mode).
 * Neither set (the default): the gateway adds no CORS header anywhere and a preflight is answered
 * like any other request (401 on an authenticated route: the browser sees a failed preflight).
 *
 * The rule:
 *   - a preflight (`OPTIONS` with `Access-Control-Request-Method`) is answered here, before
 *     authentication and routing (a browser sends no key with it): 204 with the allowed methods
 *     and the requested headers the SDKs send, for a platform origin — and in per-tenant mode for
 *     any origin, since which tenant it is for is unknown until the key arrives: the preflight only
 *     lets the browser send the request, what the page may read is decided on the answer. The
 *     preflight names the origin (never `*`, never credentials). Otherwise 403;
 *   - an actual request's answer — success, error and stream alike — gets
 *     `Access-Control-Allow-Origin` (that origin, never `*`), `Vary: Origin` and
 *     `Access-Control-Expose-Headers` (the answer's own ids, rate-limit and gateway headers, so a
 *     page can read `x-request-id`, `x-ratelimit-*` and `x-gateway-*`) when the origin is a
 *     platform one, or, in per-tenant mode, one the key's tenant allows. Any other answer has no
 *     CORS header (the page cannot read it) — an answer refused before the key was known included.
 * No credentials mode: keys travel in headers, never cookies.
 */

const METHODS = "GET, POST, PATCH, PUT, DELETE, OPTIONS";

/** Request headers a browser client may send: what the OpenAI, Anthropic and LangChain SDKs set. */
const ALLOWED_HEADER = new RegExp(
  "^(?:" +
    [
      "authorization",
      "content-type",
      "accept",
      "x-api-key",
      "anthropic-version",
      "anthropic-beta",
      "anthropic-dangerous-direct-browser-access",
      "openai-organization",
      "openai-project",
      "openai-beta",
      "idempotency-key",
      "x-request-id",
      "x-client-request-id",
      "x-stainless-[a-z0-9-]+",
      "x-lc-[a-z0-9-]+",
      "langsmith-trace",
      "baggage",
    ].join("|") +
    ")$",
);

/** Answer headers a page may read (only those the answer carries are named). */
const EXPOSED_HEADER =
  /^(?:x-request-id|request-id|x-client-request-id|x-gateway-[a-z0-9-]+|x-ratelimit-[a-z0-9-]+|retry-after|retry-after-ms|x-should-retry)$/;

/** How long a browser may reuse a preflight's answer (seconds). */
const PREFLIGHT_MAX_AGE = "600";

/** The origins of `CORS_ALLOWED_ORIGINS`, parsed once per value. */
let parsed: { raw: string; origins: ReadonlySet<string> } | undefined;
export function allowedOrigins(env: { CORS_ALLOWED_ORIGINS?: string } | undefined): ReadonlySet<string> {
  // No env at all: an app driven without bindings (`app.request(path)` in unit tests) has CORS off.
  const raw = env?.CORS_ALLOWED_ORIGINS ?? "";
  if (parsed?.raw !== raw) {
    const origins = raw
      .split(",")
      .map((o) => o.trim().replace(/\/+$/, "").toLowerCase())
      .filter((o) => o.length > 0);
    parsed = { raw, origins: new Set(origins) };
  }
  return parsed.origins;
}

/** Per-tenant mode: each tenant's `cors_origins` are honoured (`CORS_TENANT_ORIGINS = "true"`). */
export const tenantOriginsOn = (env: { CORS_TENANT_ORIGINS?: string } | undefined): boolean => env?.CORS_TENANT_ORIGINS === "true";

export function cors(): MiddlewareHandler<GatewayBindings> {
  return async function corsMiddleware(c, next) {
    const origins = allowedOrigins(c.env);
    const perTenant = tenantOriginsOn(c.env);
    const origin = c.req.header("origin");
    if ((origins.size === 0 && !perTenant) || origin === undefined) return next();
    const normalised = origin.toLowerCase();
    const platform = origins.has(normalised);

    if (c.req.method === "OPTIONS" && c.req.header("access-control-request-method") !== undefined) {
      if (!platform && !perTenant) {
        throw new ApiError({ code: "permission_denied", message: `Origin '${origin.slice(0, 256)}' may not call this API from a browser (CORS).` });
      }
      const requested = (c.req.header("access-control-request-headers") ?? "")
        .split(",")
        .map((h) => h.trim().toLowerCase())
        .filter((h) => h.length > 0 && h.length <= 128 && ALLOWED_HEADER.test(h));
      return c.body(null, 204, {
        "access-control-allow-origin": origin,
        "access-control-allow-methods": METHODS,
        ...(requested.length > 0 ? { "access-control-allow-headers": [...new Set(requested)].join(", ") } : {}),
        "access-control-max-age": PREFLIGHT_MAX_AGE,
        vary: "Origin, Access-Control-Request-Method, Access-Control-Request-Headers",
      });
    }

    await next();
    const res = c.res;
    // Whether this answer may be read by the page depends on the Origin (and, per tenant, on the key).
    res.headers.append("vary", "Origin");
    const allowed = platform || (perTenant && (c.get("principal") as Principal | undefined)?.tenantCorsOrigins.includes(normalised) === true);
    if (!allowed) return;
    res.headers.set("access-control-allow-origin", origin);
    // The request-id middleware (outside this one) adds its ids after this runs: named here.
    const exposed = [...res.headers.keys(), "x-request-id", "x-gateway-request-id", "x-client-request-id"].filter((h) => EXPOSED_HEADER.test(h));
    res.headers.set("access-control-expose-headers", [...new Set(exposed)].join(", "));
  };
}
