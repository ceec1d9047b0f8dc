import type { RouteStrategy } from "../../../shared/src/contracts/providers";

/** A route target as the strategies see it: an identity, a weight and (for least-latency) a history. */
export interface Weighted {
  /** Stable identity of the deployment (`<provider id>/<model>`): circuit and latency are kept per key. */
  key: string;
  weight: number;
}

export interface StrategyContext {
  /** Uniform in [0, 1); injectable so tests are deterministic. */
  random: () => number;
  /** Observed latency (EWMA, ms) of a target, or null if never measured in this isolate. */
  latencyOf: (key: string) => number | null;
  /** Share of least-latency requests sent in random order, so a target measured slow once is measured again. */
  exploreRate?: number;
  /** Requests in flight to a target from this isolate (`least-busy`). */
  busyOf?: (key: string) => number;
  /** Tokens a target took this minute, shared across isolates (`usage-based`); read before ordering. */
  usageOf?: (key: string) => number;
}

/**
 * Orders a route's targets for one request. Every strategy returns *all* targets: the first is
 * the preferred one and the rest are the fallbacks in the order they are tried.
 *
 * - `fallback`: the configured order.
 * - `weighted`: a weighted random draw without replacement (so traffic splits by weight on the
 *   first choice and the fallbacks are weighted too).
 * - `least-latency`: targets never measured first (to measure them), then by observed latency;
 *   a small share of requests explores in weighted-random order.
 */
export function orderTargets<T extends Weighted>(strategy: RouteStrategy, targets: readonly T[], ctx: StrategyContext): T[] {
  switch (strategy) {
    case "fallback":
      return [...targets];
    case "weighted":
      return weightedOrder(targets, ctx.random);
    case "least-latency": {
      if (ctx.random() < (ctx.exploreRate ?? 0.05)) return weightedOrder(targets, ctx.random);
      const measured = targets.map((t, i) => ({ t, i, ms: ctx.latencyOf(t.key) }));
      return measured.sort((a, b) => (a.ms ?? -1) - (b.ms ?? -1) || a.i - b.i).map((m) => m.t);
    }
    case "least-busy":
      return byLeast(weightedOrder(targets, ctx.random), (t) => ctx.busyOf?.(t.key) ?? 0);
    case "usage-based":
      return byLeast(weightedOrder(targets, ctx.random), (t) => ctx.usageOf?.(t.key) ?? 0);
  }
}

/** Stable sort by a measure, lowest first (ties keep the order given: a weighted draw). */
function byLeast<T>(targets: T[], measure: (t: T) => number): T[] {
  return targets
    .map((t, i) => ({ t, i, m: measure(t) }))
    .sort((a, b) => a.m - b.m || a.i - b.i)
    .map((x) => x.t);
}

/** LiteLLM's `order`: lower tiers first (targets without one form the last tier), the strategy choosing within each tier. */
export function orderByTier<T extends Weighted & { order?: number }>(strategy: RouteStrategy, targets: readonly T[], ctx: StrategyContext): T[] {
  if (!targets.some((t) => t.order !== undefined)) return orderTargets(strategy, targets, ctx);
  const tiers = new Map<number, T[]>();
  for (const t of targets) {
    const tier = t.order ?? Number.MAX_SAFE_INTEGER;
    tiers.set(tier, [...(tiers.get(tier) ?? []), t]);
  }
  return [...tiers.keys()].sort((a, b) => a - b).flatMap((tier) => orderTargets(strategy, tiers.get(tier)!, ctx));
}

export function weightedOrder<T extends Weighted>(targets: readonly T[], random: () => number): T[] {
  const pool = [...targets];
  const out: T[] = [];
  while (pool.length > 0) {
    const total = pool.reduce((sum, t) => sum + Math.max(0, t.weight), 0);
    let index = 0;
    if (total > 0) {
      let r = random() * total;
      index = pool.findIndex((t) => (r -= Math.max(0, t.weight)) < 0);
      if (index < 0) index = pool.length - 1; // floating-point edge
    }
    out.push(pool.splice(index, 1)[0]!);
  }
  return out;
}
