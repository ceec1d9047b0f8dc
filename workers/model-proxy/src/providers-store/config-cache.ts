import { PLATFORM, providerFromRow, routeFromRow, type ProviderRecord, type ProviderRow, type RouteRecord, type RouteRow } from "./records";

/** One owner's providers and routes, by name. */
export interface OwnerConfig {
  providers: ReadonlyMap<string, ProviderRecord>;
  routes: ReadonlyMap<string, RouteRecord>;
  /** The platform's only: imported context windows, model (as the price table names it) → max input tokens. */
  contextWindows?: ReadonlyMap<string, number>;
}

/** Served without asking D1 for this long after loading. */
export const FRESH_MS = 15_000;
/** Past freshness, served while a background reload runs, up to this age; older blocks on D1. */
export const STALE_MS = 300_000;

/**
 * Providers and routes per owner, in isolate memory. The request path reads D1 only on a cold
 * isolate: a fresh entry is served as is, a stale one is served while it reloads in the background
 * (stale-while-revalidate). A change made through the providers API drops the entry in the isolate
 * that made it at once; other isolates pick it up within FRESH_MS (plus one request).
 */
export class ConfigCache {
  // Resolved values only: workerd ties a promise to the request that created it, so a pending load
  // is never shared with another request (concurrent cold requests each read D1 once).
  private readonly entries = new Map<string, { at: number; value: OwnerConfig; reloading: boolean }>();
  private readonly invalidated = new Map<string, number>();

  constructor(private readonly now: () => number = Date.now) {}

  async get(db: D1Database, owner: string, background: (p: Promise<unknown>) => void): Promise<OwnerConfig> {
    const entry = this.entries.get(owner);
    const age = entry ? this.now() - entry.at : Infinity;
    if (entry && age <= FRESH_MS) return entry.value;
    if (entry && age <= STALE_MS) {
      if (!entry.reloading) {
        entry.reloading = true;
        background(this.load(db, owner).catch(() => (entry.reloading = false)));
      }
      return entry.value;
    }
    return this.load(db, owner);
  }

  invalidate(owner: string): void {
    this.entries.delete(owner);
    if (this.invalidated.size > 10_000) this.invalidated.clear();
    this.invalidated.set(owner, this.now());
  }

  private async load(db: D1Database, owner: string): Promise<OwnerConfig> {
    const at = this.now();
    const value = await loadOwner(db, owner);
    // A change made while this load ran wins: what was read may predate it, so it is not kept.
    if ((this.invalidated.get(owner) ?? -Infinity) >= at) return value;
    if (this.entries.size > 10_000) this.entries.clear();
    this.entries.set(owner, { at, value, reloading: false });
    return value;
  }
}

interface WindowRow {
  model: string;
  max_input_tokens: number;
}

/** Both tables in one round trip (the platform's with the imported context windows). */
async function loadOwner(db: D1Database, owner: string): Promise<OwnerConfig> {
  const [providers, routes, windows] = await db.batch<ProviderRow | RouteRow | WindowRow>([
    db.prepare("SELECT * FROM providers WHERE owner = ? ORDER BY created_at, id").bind(owner),
    db.prepare("SELECT * FROM routes WHERE owner = ? ORDER BY created_at, id").bind(owner),
    ...(owner === PLATFORM ? [db.prepare("SELECT model, max_input_tokens FROM context_windows")] : []),
  ]);
  return {
    providers: new Map((providers!.results as ProviderRow[]).map((r) => [r.name, providerFromRow(r)])),
    routes: new Map((routes!.results as RouteRow[]).map((r) => [r.name, routeFromRow(r)])),
    ...(windows ? { contextWindows: new Map((windows.results as WindowRow[]).map((r) => [r.model, r.max_input_tokens])) } : {}),
  };
}

/** The isolate's cache, shared by the request path (registry) and the management API (invalidation). */
export const configCache = new ConfigCache();
export { PLATFORM };
