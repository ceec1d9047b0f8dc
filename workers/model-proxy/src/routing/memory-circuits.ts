import {
  admit,
  CLOSED,
  currentUsage,
  onFailure,
  onSuccess,
  takeUsage,
  viewOf,
  type Circuit,
  type MinuteUsage,
} from "../../../../durable-objects/circuit-breaker";
import type { CircuitStore } from "./breaker";

/**
 * The circuit objects' logic in one map: the same state machine the Durable Object runs, without
 * the object. For routing that has no Durable Object at hand (unit tests; a dispatch without a
 * routing context). `calls` records the round trips a real store would cost.
 */
export function memoryCircuitStore(now: () => number = Date.now) {
  const circuits = new Map<string, Circuit>();
  const minutes = new Map<string, MinuteUsage>();
  const idle: MinuteUsage = { minute: 0, requests: 0, tokens: 0 };
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
    async take(key, limits, tokens) {
      calls.push(`take:${key}`);
      const d = takeUsage(minutes.get(key) ?? idle, limits, tokens, now());
      minutes.set(key, d.usage);
      return d;
    },
    async usage(key) {
      calls.push(`usage:${key}`);
      return currentUsage(minutes.get(key) ?? idle, now());
    },
  };
  return { store, calls, circuits };
}
