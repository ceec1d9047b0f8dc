import { PriceBook } from "../../../shared/src";
import { PRICE_TTL_MS } from "../../../shared/src/contracts/propagation";
import { cacheNow } from "../middleware/test-clock";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * The price table in isolate memory, so the hot path can compute a worst-case cost without a D1
 * read. Fetched from billing over RPC (one call per isolate start). A copy older than half of
 * `PRICE_TTL_MS` is refreshed in the background while requests keep using it; one older than
 * `PRICE_TTL_MS` is never used while billing answers: the request waits for the new table. So a
 * price edited through /admin/prices is used by every isolate within `PRICE_TTL_MS`
 * (contracts/propagation.ts), and a busy isolate never waits (its background refreshes keep the
 * copy younger than that). If billing cannot answer, the old table is kept rather than failing
 * requests. The admin route also refreshes its own isolate at once. Its clock is `cacheNow`.
 */
export { PRICE_TTL_MS };

interface Cached {
  book: PriceBook;
  fetchedAt: number;
}

let cached: Cached | null = null;
let loading: Promise<PriceBook> | null = null;

export async function priceBook(env: Pick<GatewayEnv, "BILLING">, now = cacheNow()): Promise<PriceBook> {
  if (cached) {
    const age = now - cached.fetchedAt;
    if (age >= PRICE_TTL_MS) {
      const stale = cached.book;
      return refreshPrices(env).catch(() => stale);
    }
    if (age >= PRICE_TTL_MS / 2) void refreshPrices(env).catch(() => {});
    return cached.book;
  }
  return refreshPrices(env);
}

/** Loads the table now; concurrent callers share one RPC. Throws if billing cannot answer. */
export function refreshPrices(env: Pick<GatewayEnv, "BILLING">): Promise<PriceBook> {
  loading ??= (async () => {
    try {
      const res = await env.BILLING.prices();
      if (!res.ok) throw new Error(res.error.message);
      const book = new PriceBook(res.value);
      cached = { book, fetchedAt: cacheNow() };
      return book;
    } catch (err) {
      log.error("gateway", "price table refresh failed", { op: "prices", message: errorMessage(err) });
      // Keep serving the old table; try again on a request at least 5 s from now.
      if (cached) cached.fetchedAt = cacheNow() - PRICE_TTL_MS / 2 + 5_000;
      throw err;
    } finally {
      loading = null;
    }
  })();
  return loading;
}

/** For tests: forget the cached table. */
export function resetPriceCache(): void {
  cached = null;
  loading = null;
}
