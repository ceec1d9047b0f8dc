import type { PriceImportResult } from "../../../shared/src/contracts/price-import";
import { PriceBook, PriceSchema, type Price } from "../../../shared/src/pricing";

interface PriceRow {
  model: string;
  provider: string | null;
  input_per_mtok_micros: number;
  output_per_mtok_micros: number;
  cached_input_per_mtok_micros: number | null;
  cache_write_per_mtok_micros: number | null;
  batch_discount_pct: number;
  updated_at: number;
}

/** A price book and the version of each of its rows (by `Price.model`). */
export interface VersionedBook {
  book: PriceBook;
  versions: ReadonlyMap<string, number>;
}

/** The `prices` table of billing's D1: the one source of truth for what a model costs. */
export class PriceStore {
  constructor(private readonly db: D1Database) {}

  async list(): Promise<Price[]> {
    const { results } = await this.db
      .prepare(
        "SELECT model, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros, cache_write_per_mtok_micros, batch_discount_pct FROM prices ORDER BY model",
      )
      .all<PriceRow>();
    return results.map(toPrice);
  }

  async book(): Promise<PriceBook> {
    return new PriceBook(await this.list());
  }

  /**
   * The price book with each row's current version (migrations/billing/0010), read in one query so
   * a rate and its version always belong together: the consumer records the version it priced with.
   */
  async versionedBook(): Promise<VersionedBook> {
    const { results } = await this.db
      .prepare(
        `SELECT p.model, p.provider, p.input_per_mtok_micros, p.output_per_mtok_micros, p.cached_input_per_mtok_micros,
           p.cache_write_per_mtok_micros, p.batch_discount_pct,
           (SELECT MAX(v.version) FROM price_versions v WHERE v.model = p.model) AS version
         FROM prices p`,
      )
      .all<PriceRow & { version: number | null }>();
    return { book: new PriceBook(results.map(toPrice)), versions: new Map(results.map((r) => [r.model, r.version ?? 0])) };
  }

  async get(model: string): Promise<Price | null> {
    const row = await this.db
      .prepare(
        "SELECT model, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros, cache_write_per_mtok_micros, batch_discount_pct FROM prices WHERE model = ?",
      )
      .bind(model)
      .first<PriceRow>();
    return row ? toPrice(row) : null;
  }

  /** Creates or replaces a model's price. Returns true if the model had no price before. */
  async put(price: Price, now = Date.now()): Promise<boolean> {
    const existed = await this.get(price.model);
    await this.db
      .prepare(
        `INSERT INTO prices (model, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros,
           cache_write_per_mtok_micros, batch_discount_pct, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)
         ON CONFLICT (model) DO UPDATE SET provider = excluded.provider,
           input_per_mtok_micros = excluded.input_per_mtok_micros, output_per_mtok_micros = excluded.output_per_mtok_micros,
           cached_input_per_mtok_micros = excluded.cached_input_per_mtok_micros,
           cache_write_per_mtok_micros = excluded.cache_write_per_mtok_micros, batch_discount_pct = excluded.batch_discount_pct,
           import_id = NULL, updated_at = excluded.updated_at`,
      )
      .bind(
        price.model,
        price.provider,
        price.input_per_mtok_micros,
        price.output_per_mtok_micros,
        price.cached_input_per_mtok_micros,
        price.cache_write_per_mtok_micros ?? null,
        price.batch_discount_pct ?? 0,
        now,
      )
      .run();
    return existed === null;
  }

  /**
   * Imports a price file's rows as one import (`price_imports`): rows that do not exist are
   * created, rows whose rates or provider differ are replaced (keeping the operator's
   * `batch_discount_pct`) — each becoming its model's next price version (billing/0010) — and equal
   * rows are left alone, so the same file imported twice changes nothing and records no second
   * import. Rows the file does not name are kept. All of it in one D1 batch (one transaction): an
   * import is applied whole or not at all. `dryRun` only compares.
   */
  async importVersion(prices: readonly Price[], options: { dryRun: boolean; source: string; now?: number }): Promise<PriceImportResult> {
    const current = new Map((await this.list()).map((p) => [p.model, p]));
    const entries = prices.map((p) => {
      const old = current.get(p.model);
      const changes = old ? IMPORTED_FIELDS.filter((f) => (old[f] ?? null) !== (p[f] ?? null)) : [...IMPORTED_FIELDS];
      return { model: p.model, action: !old ? ("create" as const) : changes.length ? ("update" as const) : ("unchanged" as const), changes };
    });
    const writes = prices.filter((_, i) => entries[i]!.action !== "unchanged");
    if (options.dryRun || writes.length === 0) return { import_id: null, changed: writes.length > 0, prices: entries };
    const now = options.now ?? Date.now();
    const created = entries.filter((e) => e.action === "create").length;
    const upsert = this.db.prepare(
      `INSERT INTO prices (model, provider, input_per_mtok_micros, output_per_mtok_micros, cached_input_per_mtok_micros,
         cache_write_per_mtok_micros, batch_discount_pct, import_id, updated_at)
       VALUES (?, ?, ?, ?, ?, ?, 0, (SELECT MAX(id) FROM price_imports), ?)
       ON CONFLICT (model) DO UPDATE SET provider = excluded.provider,
         input_per_mtok_micros = excluded.input_per_mtok_micros, output_per_mtok_micros = excluded.output_per_mtok_micros,
         cached_input_per_mtok_micros = excluded.cached_input_per_mtok_micros,
         cache_write_per_mtok_micros = excluded.cache_write_per_mtok_micros, import_id = excluded.import_id, updated_at = excluded.updated_at`,
    );
    const results = await this.db.batch<{ id: number }>([
      this.db
        .prepare("INSERT INTO price_imports (source, created, updated, created_at) VALUES (?, ?, ?, ?) RETURNING id")
        .bind(options.source, created, writes.length - created, now),
      ...writes.map((p) =>
        upsert.bind(
          p.model,
          p.provider,
          p.input_per_mtok_micros,
          p.output_per_mtok_micros,
          p.cached_input_per_mtok_micros,
          p.cache_write_per_mtok_micros ?? null,
          now,
        ),
      ),
    ]);
    return { import_id: results[0]?.results[0]?.id ?? null, changed: true, prices: entries };
  }

  /** Returns true if a price was deleted. */
  async delete(model: string): Promise<boolean> {
    const res = await this.db.prepare("DELETE FROM prices WHERE model = ?").bind(model).run();
    return (res.meta.changes ?? 0) > 0;
  }
}

/** What an imported price file sets (the batch discount stays the operator's). */
const IMPORTED_FIELDS = ["provider", "input_per_mtok_micros", "output_per_mtok_micros", "cached_input_per_mtok_micros", "cache_write_per_mtok_micros"] as const;

function toPrice(row: PriceRow): Price {
  return PriceSchema.parse({
    model: row.model,
    provider: row.provider,
    input_per_mtok_micros: row.input_per_mtok_micros,
    output_per_mtok_micros: row.output_per_mtok_micros,
    cached_input_per_mtok_micros: row.cached_input_per_mtok_micros,
    cache_write_per_mtok_micros: row.cache_write_per_mtok_micros,
    batch_discount_pct: row.batch_discount_pct,
  });
}
