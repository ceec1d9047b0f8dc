/**
 * How long an admin change may take to reach every gateway isolate: the lifetimes of the copies a
 * gateway isolate keeps in memory so the hot path makes no extra call. This is the product's
 * promise, not an implementation detail: with many isolates (production), a change is honoured by
 * the isolate that made it at once and by every other within these bounds (plus KV's own
 * propagation to other locations for keys, see workers/gateway/src/middleware/api-key.ts).
 * The tests hold the gateway to them without depending on how many isolates serve a request: they
 * move the gateway's clock past the bound (test/support/propagation.ts) instead of relying on the
 * admin request and the next one meeting the same isolate.
 */

/** A key or tenant change (revoke, rotate, scopes, limits, budget, disable): the principal cache. */
export const PRINCIPAL_CACHE_TTL_MS = 2_000;
/** A price change (/admin/prices): no gateway isolate prices a request with a table older than this. */
export const PRICE_TTL_MS = 60_000;
/** A route change, for the worst-case cost a limited key reserves: the route-targets cache. */
export const TARGETS_TTL_MS = 30_000;
/** A credit grant (/admin/tenants/{id}/credits) or a grant's expiry: a prepaid tenant's month limit cache. */
export const CREDITS_TTL_MS = 30_000;
