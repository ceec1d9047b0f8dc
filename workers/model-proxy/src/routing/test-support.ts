import { admit, CLOSED, onFailure, onSuccess, viewOf, type Circuit } from "../../../../durable-objects/circuit-breaker";
import type { CircuitStore } from "./breaker";

/** A small deterministic PRNG (mulberry32), so distributions in tests are reproducible. */
export function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

/**
 * The circuit objects' logic in one map, for tests of the router: the same state machine the
 * Durable Object runs, without the object. `calls` counts round trips a real store would cost.
 */
export function memoryCircuitStore(now: () => number = Date.now) {
  const circuits = new Map<string, Circuit>();
  const calls: string[] = [];
  const get = (key: string) => circuits.get(key) ?? CLOSED;
  const store: CircuitStore = {
    async state(key) {
      calls.push(`state:${key}`);
      return viewOf(get(key));
    },
    async admit(key, cfg) {
      calls.push(`admit:${key}`);
      const d = admit(get(key), now(), cfg);
      circuits.set(key, d.circuit);
      return { allowed: d.allowed, probe: d.probe, view: viewOf(d.circuit) };
    },
    async failure(key, cfg) {
      calls.push(`failure:${key}`);
      circuits.set(key, onFailure(get(key), now(), cfg));
      return viewOf(get(key));
    },
    async success(key) {
      calls.push(`success:${key}`);
      circuits.set(key, onSuccess(get(key)));
      return viewOf(get(key));
    },
  };
  return { store, calls, circuits };
}
