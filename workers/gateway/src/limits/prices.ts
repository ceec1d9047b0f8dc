import { PriceBook } from "../../../shared/src";

/**
 * The price table in isolate memory, so the hot path can compute a worst-case cost without a D1
 * read. Fetched from billing over RPC (one call per isolate start), then refreshed in the
 * background when older than `PRICE_TTL_MS` while requests keep using the copy they have
 * (stale-while-revalidate). A price edited through /admin/prices therefore reaches every isolate
 * within `PRICE_TTL_MS`; the admin route also refreshes its own isolate at once.
 */
export const PRICE_TTL_MS = 60_000;

interface Cached {
  book: PriceBook;
  fetchedAt: number;
}

let cached: Cached | null = null;
let loading: Promise<PriceBook> | null = null;

export async function priceBook(env: Pick<GatewayEnv, "BILLING">, now = Date.now()): Promise<PriceBook> {
  if (cached) {
    if (now - cached.fetchedAt >= PRICE_TTL_MS) void refreshPrices(env).catch(() => {});
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
      cached = { book, fetchedAt: Date.now() };
      return book;
    } catch (err) {
      console.error(JSON.stringify({ level: "error", message: "price table refresh failed", error: err instanceof Error ? err.message : String(err) }));
      // Keep serving the old table; try again on a later request.
      if (cached) cached.fetchedAt = Date.now() - PRICE_TTL_MS + 5_000;
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
