import {
  capSeries,
  CIRCUIT_PHASES,
  MAX_ATTEMPT_SERIES,
  MAX_CIRCUIT_SERIES,
  MAX_LABEL_CHARS,
  OTHER_LABEL,
  type AttemptSeries,
  type CircuitSeries,
  type ProxyMetrics,
} from "../../../shared/src/contracts/metrics";

const cut = (s: string) => s.slice(0, MAX_LABEL_CHARS);

/**
 * A circuit's provider id and model from its object name, `[tenant:<id>/]<provider id>/<model>`
 * (routing/route-request.ts): neither a tenant id nor a provider id contains `/`.
 */
export function circuitLabels(circuit: string): { providerId: string; model: string } | null {
  const rest = circuit.startsWith("tenant:") ? circuit.slice(circuit.indexOf("/") + 1) : circuit;
  const at = rest.indexOf("/");
  if (at <= 0 || at === rest.length - 1) return null;
  return { providerId: rest.slice(0, at), model: rest.slice(at + 1) };
}

/**
 * GET /metrics's model-proxy part, from its D1 only (never from this isolate's memory): failed
 * attempts (`upstream_attempt_failures`) and circuits by phase (`circuit_states`, written by each
 * CircuitBreaker object on every phase change; a circuit is listed from its first change on).
 * Provider labels are names: a platform provider's id is `platform:<name>`, a tenant's is looked up.
 */
export async function proxyMetrics(db: D1Database): Promise<ProxyMetrics> {
  const [failures, circuits, providers] = await db.batch<Record<string, unknown>>([
    db.prepare("SELECT provider, model, outcome, failures AS attempts FROM upstream_attempt_failures ORDER BY 1, 2, 3"),
    db.prepare("SELECT circuit, phase FROM circuit_states ORDER BY circuit"),
    db.prepare("SELECT id, name FROM providers"),
  ]);
  const names = new Map((providers!.results as { id: string; name: string }[]).map((p) => [p.id, p.name]));
  const nameOf = (id: string) => (id.startsWith("platform:") ? id.slice("platform:".length) : (names.get(id) ?? id));

  const attemptFailures = capSeries(
    failures!.results as unknown as AttemptSeries[],
    MAX_ATTEMPT_SERIES,
    (s) => s.attempts,
    (into, from) => (into.attempts += from.attempts),
    (first) => ({ provider: OTHER_LABEL, model: OTHER_LABEL, outcome: OTHER_LABEL, attempts: first.attempts }),
  );

  const byLabels = new Map<string, CircuitSeries>();
  for (const row of circuits!.results as { circuit: string; phase: string }[]) {
    const labels = circuitLabels(row.circuit);
    const phase = CIRCUIT_PHASES.find((p) => p === row.phase);
    if (!labels || !phase) continue;
    const provider = cut(nameOf(labels.providerId));
    const model = cut(labels.model);
    const key = JSON.stringify([provider, model, phase]);
    const series = byLabels.get(key) ?? { provider, model, phase, circuits: 0 };
    series.circuits++;
    byLabels.set(key, series);
  }
  // Capped per phase, so the `__other__` series of a phase still says how many circuits are in it.
  const circuitSeries = CIRCUIT_PHASES.flatMap((phase) =>
    capSeries(
      [...byLabels.values()].filter((s) => s.phase === phase),
      MAX_CIRCUIT_SERIES,
      (s) => s.circuits,
      (into, from) => (into.circuits += from.circuits),
      (first) => ({ provider: OTHER_LABEL, model: OTHER_LABEL, phase, circuits: first.circuits }),
    ),
  );
  return { attemptFailures: attemptFailures.map((s) => ({ ...s, provider: cut(s.provider), model: cut(s.model) })), circuits: circuitSeries };
}
