import { providerFromRow, routeFromRow, type ProviderRecord, type ProviderRow, type RouteRecord, type RouteRow } from "./records";

/**
 * D1 access for providers and routes. Every query is scoped by `owner`, so one tenant's id can
 * never address another tenant's row: a foreign id simply is not found.
 *
 * The owner-scoped reads and the delete are the same for both tables and live in `OwnedTable`;
 * each repository adds its own column lists for insert and update.
 */
abstract class OwnedTable<TRecord, TRow> {
  constructor(
    protected readonly db: D1Database,
    private readonly table: "providers" | "routes",
    private readonly fromRow: (row: TRow) => TRecord,
  ) {}

  async list(owner: string): Promise<TRecord[]> {
    const { results } = await this.db.prepare(`SELECT * FROM ${this.table} WHERE owner = ? ORDER BY created_at, id`).bind(owner).all<TRow>();
    return results.map(this.fromRow);
  }

  async get(owner: string, id: string): Promise<TRecord | null> {
    return this.first("id", owner, id);
  }

  async count(owner: string): Promise<number> {
    return (await this.db.prepare(`SELECT COUNT(*) AS n FROM ${this.table} WHERE owner = ?`).bind(owner).first<number>("n")) ?? 0;
  }

  async delete(owner: string, id: string): Promise<boolean> {
    const result = await this.db.prepare(`DELETE FROM ${this.table} WHERE owner = ? AND id = ?`).bind(owner, id).run();
    return result.meta.changes === 1;
  }

  protected async first(column: "id" | "name", owner: string, value: string): Promise<TRecord | null> {
    const row = await this.db.prepare(`SELECT * FROM ${this.table} WHERE owner = ? AND ${column} = ?`).bind(owner, value).first<TRow>();
    return row ? this.fromRow(row) : null;
  }

  /** Runs an insert that ends `ON CONFLICT (owner, name) DO NOTHING`: false if the name was taken. */
  protected async insertUnlessNameTaken(statement: D1PreparedStatement): Promise<boolean> {
    const result = await statement.run();
    return result.meta.changes === 1;
  }

  /** Runs an update: false if the new name is taken by another of the owner's rows (the unique index decides). */
  protected async updateUnlessNameTaken(statement: D1PreparedStatement): Promise<boolean> {
    try {
      await statement.run();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }
}

export class ProviderRepository extends OwnedTable<ProviderRecord, ProviderRow> {
  constructor(db: D1Database) {
    super(db, "providers", providerFromRow);
  }

  async byName(owner: string, name: string): Promise<ProviderRecord | null> {
    return this.first("name", owner, name);
  }

  /** Inserts; false if the owner already has a provider of that name (the unique index decides). */
  async insert(p: ProviderRecord): Promise<boolean> {
    return this.insertUnlessNameTaken(
      this.db
        .prepare(
          `INSERT INTO providers (id, owner, name, type, base_url, credential_ref, last4, rotated_at, models, headers, timeout_ms, api_version, enabled, source, credential_env, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owner, name) DO NOTHING`,
        )
        .bind(p.id, p.owner, ...providerColumns(p), p.createdAt, p.updatedAt),
    );
  }

  /** Writes every mutable column; false if the new name is taken by another of the owner's providers. */
  async update(p: ProviderRecord): Promise<boolean> {
    return this.updateUnlessNameTaken(
      this.db
        .prepare(
          `UPDATE providers SET name = ?, type = ?, base_url = ?, credential_ref = ?, last4 = ?, rotated_at = ?, models = ?, headers = ?,
             timeout_ms = ?, api_version = ?, enabled = ?, source = ?, credential_env = ?, updated_at = ? WHERE owner = ? AND id = ?`,
        )
        .bind(...providerColumns(p), p.updatedAt, p.owner, p.id),
    );
  }
}

/** A provider's mutable columns, in the order both insert and update list them (name … enabled). */
function providerColumns(p: ProviderRecord) {
  return [
    p.name,
    p.type,
    p.baseUrl,
    p.credentialRef,
    p.last4,
    p.rotatedAt,
    p.models === null ? null : JSON.stringify(p.models),
    JSON.stringify(p.headers),
    p.timeoutMs,
    p.apiVersion,
    p.enabled ? 1 : 0,
    p.source,
    p.credentialEnv,
  ];
}

export class RouteRepository extends OwnedTable<RouteRecord, RouteRow> {
  constructor(db: D1Database) {
    super(db, "routes", routeFromRow);
  }

  /** Inserts; false if the owner already has a route of that name (the unique index decides). */
  async insert(r: RouteRecord): Promise<boolean> {
    return this.insertUnlessNameTaken(
      this.db
        .prepare(
          `INSERT INTO routes (id, owner, name, strategy, targets, retries, timeout_ms, enabled, source, settings, created_at, updated_at)
           VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owner, name) DO NOTHING`,
        )
        .bind(r.id, r.owner, ...routeColumns(r), r.createdAt, r.updatedAt),
    );
  }

  /** Writes every mutable column; false if the new name is taken by another of the owner's routes. */
  async update(r: RouteRecord): Promise<boolean> {
    return this.updateUnlessNameTaken(
      this.db
        .prepare(
          "UPDATE routes SET name = ?, strategy = ?, targets = ?, retries = ?, timeout_ms = ?, enabled = ?, source = ?, settings = ?, updated_at = ? WHERE owner = ? AND id = ?",
        )
        .bind(...routeColumns(r), r.updatedAt, r.owner, r.id),
    );
  }
}

/** A route's mutable columns, in the order both insert and update list them (name … enabled). */
function routeColumns(r: RouteRecord) {
  return [r.name, r.strategy, JSON.stringify(r.targets), r.retries, r.timeoutMs, r.enabled ? 1 : 0, r.source, JSON.stringify(r.settings)];
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && /UNIQUE constraint failed/i.test(err.message);
}
