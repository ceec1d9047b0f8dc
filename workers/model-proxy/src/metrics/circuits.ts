import { CIRCUIT_PHASES, type CircuitStateView } from "../../../shared/src/contracts/metrics";
import { PLATFORM } from "../providers-store/records";
import { circuitLabels } from "./read";

/** The most circuits one answer lists (most recently changed first). */
export const MAX_CIRCUITS_LISTED = 500;

const TENANT_PREFIX = "tenant:";

/**
 * The circuits an owner may see, from `circuit_states` (each CircuitBreaker object lists its phase
 * there on every change; the same rows GET /metrics counts): a tenant sees the platform's circuits
 * and its own (`tenant:<id>/…`: its providers' and its routes' over platform providers), never
 * another tenant's; the platform sees every circuit. A provider × model with no row has never
 * left `closed`. The tenant prefix is compared with `substr`, not `LIKE` (an id may hold `_`).
 */
export async function circuitStates(db: D1Database, owner: string): Promise<CircuitStateView[]> {
  const prefix = `${TENANT_PREFIX}${owner}/`;
  const circuits =
    owner === PLATFORM
      ? db.prepare(`SELECT circuit, phase, updated_at FROM circuit_states ORDER BY updated_at DESC, circuit LIMIT ${MAX_CIRCUITS_LISTED}`)
      : db
          .prepare(
            `SELECT circuit, phase, updated_at FROM circuit_states
             WHERE substr(circuit, 1, ?1) <> ?2 OR substr(circuit, 1, ?3) = ?4
             ORDER BY updated_at DESC, circuit LIMIT ${MAX_CIRCUITS_LISTED}`,
          )
          .bind(TENANT_PREFIX.length, TENANT_PREFIX, prefix.length, prefix);
  const providers =
    owner === PLATFORM
      ? db.prepare("SELECT id, name FROM providers")
      : db.prepare("SELECT id, name FROM providers WHERE owner IN (?1, ?2)").bind(PLATFORM, owner);
  const [rows, names] = await db.batch<Record<string, unknown>>([circuits, providers]);
  const nameOf = new Map((names!.results as { id: string; name: string }[]).map((p) => [p.id, p.name]));
  const out: CircuitStateView[] = [];
  for (const row of rows!.results as { circuit: string; phase: string; updated_at: number }[]) {
    const labels = circuitLabels(row.circuit);
    const state = CIRCUIT_PHASES.find((p) => p === row.phase);
    if (!labels || !state) continue;
    const name = labels.providerId.startsWith("platform:") ? labels.providerId.slice("platform:".length) : nameOf.get(labels.providerId);
    if (name === undefined) continue; // a provider this owner cannot see (or one deleted since)
    out.push({
      object: "circuit",
      provider: name,
      provider_id: labels.providerId,
      model: labels.model,
      scope: row.circuit.startsWith(TENANT_PREFIX) ? "tenant" : "platform",
      state,
      updated_at: Math.floor(row.updated_at / 1000),
    });
  }
  return out;
}
