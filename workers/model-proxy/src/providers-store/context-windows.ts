import type { ContextWindow, ContextWindowImportResult } from "../../../shared/src/contracts/price-import";
import type { ConfigCache } from "./config-cache";
import { PLATFORM } from "./records";

interface WindowRow {
  model: string;
  max_input_tokens: number;
  max_output_tokens: number | null;
}

const FIELDS = ["max_input_tokens", "max_output_tokens"] as const;

/**
 * The platform's imported context windows (`context_windows`, proxy/0003): written by a price-file
 * import, read by the registry with the platform's configuration (config-cache.ts), so a change
 * reaches this isolate at once and every other within the config cache's freshness (15 s).
 */
export class ContextWindowStore {
  readonly #db: D1Database;
  readonly #cache: ConfigCache;

  constructor(db: D1Database, cache: ConfigCache) {
    this.#db = db;
    this.#cache = cache;
  }

  /** Creates or updates the windows the file lists (others are kept); equal rows are left alone, so a re-import changes nothing. */
  async import(windows: readonly ContextWindow[], dryRun: boolean, now = Date.now()): Promise<ContextWindowImportResult> {
    const { results } = await this.#db.prepare("SELECT model, max_input_tokens, max_output_tokens FROM context_windows").all<WindowRow>();
    const current = new Map(results.map((r) => [r.model, r]));
    const entries = windows.map((w) => {
      const old = current.get(w.model);
      const changes = old ? FIELDS.filter((f) => old[f] !== w[f]) : [...FIELDS];
      return { model: w.model, action: !old ? ("create" as const) : changes.length ? ("update" as const) : ("unchanged" as const), changes };
    });
    const writes = windows.filter((_, i) => entries[i]!.action !== "unchanged");
    if (!dryRun && writes.length > 0) {
      const upsert = this.#db.prepare(
        `INSERT INTO context_windows (model, max_input_tokens, max_output_tokens, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (model) DO UPDATE SET max_input_tokens = excluded.max_input_tokens, max_output_tokens = excluded.max_output_tokens,
           updated_at = excluded.updated_at`,
      );
      await this.#db.batch(writes.map((w) => upsert.bind(w.model, w.max_input_tokens, w.max_output_tokens, now)));
      this.#cache.invalidate(PLATFORM);
    }
    return { changed: writes.length > 0, windows: entries };
  }
}
