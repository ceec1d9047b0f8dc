import { providerFromRow, routeFromRow, type ProviderRecord, type ProviderRow, type RouteRecord, type RouteRow } from "./records";

/**
 * D1 access for providers and routes. Every query is scoped by `owner`, so one tenant's id can
 * never address another tenant's row: a foreign id simply is not found.
 */
export class ProviderRepository {
  constructor(private readonly db: D1Database) {}

  async list(owner: string): Promise<ProviderRecord[]> {
    const { results } = await this.db.prepare("SELECT * FROM providers WHERE owner = ? ORDER BY created_at, id").bind(owner).all<ProviderRow>();
    return results.map(providerFromRow);
  }

  async get(owner: string, id: string): Promise<ProviderRecord | null> {
    const row = await this.db.prepare("SELECT * FROM providers WHERE owner = ? AND id = ?").bind(owner, id).first<ProviderRow>();
    return row ? providerFromRow(row) : null;
  }

  async byName(owner: string, name: string): Promise<ProviderRecord | null> {
    const row = await this.db.prepare("SELECT * FROM providers WHERE owner = ? AND name = ?").bind(owner, name).first<ProviderRow>();
    return row ? providerFromRow(row) : null;
  }

  async count(owner: string): Promise<number> {
    return (await this.db.prepare("SELECT COUNT(*) AS n FROM providers WHERE owner = ?").bind(owner).first<number>("n")) ?? 0;
  }

  /** Inserts; false if the owner already has a provider of that name (the unique index decides). */
  async insert(p: ProviderRecord): Promise<boolean> {
    const result = await this.db
      .prepare(
        `INSERT INTO providers (id, owner, name, type, base_url, credential_ref, last4, rotated_at, models, headers, timeout_ms, api_version, enabled, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owner, name) DO NOTHING`,
      )
      .bind(
        p.id,
        p.owner,
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
        p.createdAt,
        p.updatedAt,
      )
      .run();
    return result.meta.changes === 1;
  }

  /** Writes every mutable column; false if the new name is taken by another of the owner's providers. */
  async update(p: ProviderRecord): Promise<boolean> {
    try {
      await this.db
        .prepare(
          `UPDATE providers SET name = ?, type = ?, base_url = ?, credential_ref = ?, last4 = ?, rotated_at = ?, models = ?, headers = ?,
             timeout_ms = ?, api_version = ?, enabled = ?, updated_at = ? WHERE owner = ? AND id = ?`,
        )
        .bind(
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
          p.updatedAt,
          p.owner,
          p.id,
        )
        .run();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async delete(owner: string, id: string): Promise<boolean> {
    const result = await this.db.prepare("DELETE FROM providers WHERE owner = ? AND id = ?").bind(owner, id).run();
    return result.meta.changes === 1;
  }
}

export class RouteRepository {
  constructor(private readonly db: D1Database) {}

  async list(owner: string): Promise<RouteRecord[]> {
    const { results } = await this.db.prepare("SELECT * FROM routes WHERE owner = ? ORDER BY created_at, id").bind(owner).all<RouteRow>();
    return results.map(routeFromRow);
  }

  async get(owner: string, id: string): Promise<RouteRecord | null> {
    const row = await this.db.prepare("SELECT * FROM routes WHERE owner = ? AND id = ?").bind(owner, id).first<RouteRow>();
    return row ? routeFromRow(row) : null;
  }

  async count(owner: string): Promise<number> {
    return (await this.db.prepare("SELECT COUNT(*) AS n FROM routes WHERE owner = ?").bind(owner).first<number>("n")) ?? 0;
  }

  async insert(r: RouteRecord): Promise<boolean> {
    const result = await this.db
      .prepare(
        `INSERT INTO routes (id, owner, name, strategy, targets, retries, timeout_ms, enabled, created_at, updated_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT (owner, name) DO NOTHING`,
      )
      .bind(r.id, r.owner, r.name, r.strategy, JSON.stringify(r.targets), r.retries, r.timeoutMs, r.enabled ? 1 : 0, r.createdAt, r.updatedAt)
      .run();
    return result.meta.changes === 1;
  }

  async update(r: RouteRecord): Promise<boolean> {
    try {
      await this.db
        .prepare("UPDATE routes SET name = ?, strategy = ?, targets = ?, retries = ?, timeout_ms = ?, enabled = ?, updated_at = ? WHERE owner = ? AND id = ?")
        .bind(r.name, r.strategy, JSON.stringify(r.targets), r.retries, r.timeoutMs, r.enabled ? 1 : 0, r.updatedAt, r.owner, r.id)
        .run();
      return true;
    } catch (err) {
      if (isUniqueViolation(err)) return false;
      throw err;
    }
  }

  async delete(owner: string, id: string): Promise<boolean> {
    const result = await this.db.prepare("DELETE FROM routes WHERE owner = ? AND id = ?").bind(owner, id).run();
    return result.meta.changes === 1;
  }
}

function isUniqueViolation(err: unknown): boolean {
  return err instanceof Error && /UNIQUE constraint failed/i.test(err.message);
}
