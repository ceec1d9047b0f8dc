import type { CircuitBreaker, CircuitConfig, CircuitView, MinuteUsage, UsageDecision, UsageLimits } from "../../../../durable-objects/circuit-breaker";
import { errorMessage, log } from "../../../shared/src/log";

/** The circuit objects, behind an interface so the router can be tested without Durable Objects. */
export interface CircuitStore {
  state(key: string): Promise<CircuitView>;
  admit(key: string, cfg: CircuitConfig): Promise<{ allowed: boolean; probe: boolean; view: CircuitView }>;
  failure(key: string, cfg: CircuitConfig): Promise<CircuitView>;
  success(key: string): Promise<CircuitView>;
  take(key: string, limits: UsageLimits, tokens: number): Promise<UsageDecision>;
  usage(key: string): Promise<MinuteUsage>;
}

export function durableCircuitStore(ns: DurableObjectNamespace<CircuitBreaker>): CircuitStore {
  const stub = (key: string) => ns.get(ns.idFromName(key));
  return {
    state: (key) => stub(key).state(),
    admit: (key, cfg) => stub(key).admit(cfg),
    failure: (key, cfg) => stub(key).failure(cfg),
    success: (key) => stub(key).success(),
    take: async (key, limits, tokens) => {
      const d = await stub(key).take(limits, tokens);
      return { allowed: d.allowed, retryAt: d.retryAt, usage: { ...d.usage } };
    },
    usage: async (key) => {
      const u = await stub(key).usage();
      return { minute: u.minute, requests: u.requests, tokens: u.tokens };
    },
  };
}

/** Circuit settings from model-proxy's vars, with production defaults. */
export function circuitConfigFrom(env: {
  CIRCUIT_FAILURE_THRESHOLD?: string;
  CIRCUIT_WINDOW_MS?: string;
  CIRCUIT_COOLDOWN_MS?: string;
  CIRCUIT_PROBE_LEASE_MS?: string;
}): CircuitConfig {
  const num = (v: string | undefined, fallback: number, min: number) => {
    const n = Number(v);
    return v !== undefined && v !== "" && Number.isFinite(n) && n >= min ? Math.floor(n) : fallback;
  };
  return {
    threshold: num(env.CIRCUIT_FAILURE_THRESHOLD, 5, 1),
    windowMs: num(env.CIRCUIT_WINDOW_MS, 60_000, 1),
    cooldownMs: num(env.CIRCUIT_COOLDOWN_MS, 30_000, 1),
    probeLeaseMs: num(env.CIRCUIT_PROBE_LEASE_MS, 60_000, 1),
  };
}

export interface Gate {
  allowed: boolean;
  /** This request is the half-open probe: its outcome decides the circuit. */
  probe: boolean;
  /** While refused: when the circuit admits its next probe (epoch ms). */
  retryAt: number;
}

/** Runs work after the response (ctx.waitUntil); never delays the request. */
export type Background = (work: Promise<unknown>) => void;

/**
 * model-proxy's view of the shared circuits. The last state seen per deployment is kept in isolate
 * memory, so a healthy target costs no call at all on the request path:
 *
 * - closed (or unknown): allowed at once; a stale view is refreshed in the background, so an
 *   isolate learns about a circuit another isolate opened without waiting for its own failure.
 * - open and cooling down: skipped, no call.
 * - open and due: one call to the object to take the probe lease (only while a target is failing).
 * - a failure is reported (awaited: the next request must see the circuit it may have opened);
 *   a success is reported in the background, and only when it changes something.
 *
 * If the circuit objects cannot be reached the breaker fails open: routing goes on without it.
 */
export class Breakers {
  private readonly seen = new Map<string, { view: CircuitView; at: number; version: number }>();

  constructor(
    private readonly store: CircuitStore,
    private readonly cfg: CircuitConfig,
    private readonly now: () => number = Date.now,
    private readonly refreshMs = 5_000,
  ) {}

  async gate(key: string, background: Background, cfg: CircuitConfig = this.cfg): Promise<Gate> {
    const entry = this.seen.get(key);
    const now = this.now();
    if (!entry || entry.view.phase === "closed") {
      if (!entry || now - entry.at > this.refreshMs) background(this.refresh(key));
      return { allowed: true, probe: false, retryAt: 0 };
    }
    if (now < entry.view.retryAt) return { allowed: false, probe: false, retryAt: entry.view.retryAt };
    try {
      const decision = await this.store.admit(key, cfg);
      this.remember(key, decision.view);
      return { allowed: decision.allowed, probe: decision.probe, retryAt: decision.view.retryAt };
    } catch (err) {
      logUnavailable(err);
      return { allowed: true, probe: false, retryAt: 0 };
    }
  }

  async failure(key: string, cfg: CircuitConfig = this.cfg): Promise<void> {
    try {
      this.remember(key, await this.store.failure(key, cfg));
    } catch (err) {
      logUnavailable(err);
    }
  }

  success(key: string, probe: boolean, background: Background): void {
    const entry = this.seen.get(key);
    if (!probe && (!entry || (entry.view.phase === "closed" && entry.view.failures === 0))) return;
    this.remember(key, { phase: "closed", failures: 0, retryAt: 0 });
    background(
      this.store.success(key).then(
        (view) => this.remember(key, view),
        (err: unknown) => logUnavailable(err),
      ),
    );
  }

  /** The circuit settings when a route sets none (model-proxy's vars). */
  get defaults(): CircuitConfig {
    return this.cfg;
  }

  /**
   * Takes a request against a deployment's per-minute `rpm`/`tpm` (exact across isolates: the
   * deployment's object counts). Fails open when the object cannot be reached.
   */
  async take(key: string, limits: UsageLimits, tokens: number): Promise<{ allowed: boolean; retryAt: number }> {
    try {
      const d = await this.store.take(key, limits, tokens);
      return { allowed: d.allowed, retryAt: d.retryAt };
    } catch (err) {
      logUnavailable(err);
      return { allowed: true, retryAt: 0 };
    }
  }

  /** Tokens a deployment took this minute (0 when unknown). */
  async tokensThisMinute(key: string): Promise<number> {
    try {
      return (await this.store.usage(key)).tokens;
    } catch (err) {
      logUnavailable(err);
      return 0;
    }
  }

  /** The last state this isolate saw (for tests and diagnostics). */
  peek(key: string): CircuitView | null {
    return this.seen.get(key)?.view ?? null;
  }

  private async refresh(key: string): Promise<void> {
    const started = this.seen.get(key)?.version ?? 0;
    // Mark as fresh first so concurrent requests do not all refresh the same key.
    this.seen.set(key, { view: this.seen.get(key)?.view ?? { phase: "closed", failures: 0, retryAt: 0 }, at: this.now(), version: started });
    try {
      const view = await this.store.state(key);
      // A failure or probe recorded meanwhile is newer than this read.
      if ((this.seen.get(key)?.version ?? 0) === started) this.remember(key, view);
    } catch (err) {
      logUnavailable(err);
    }
  }

  private remember(key: string, view: CircuitView): void {
    if (this.seen.size > 10_000) this.seen.clear();
    const version = (this.seen.get(key)?.version ?? 0) + 1;
    this.seen.set(key, { view, at: this.now(), version });
  }
}

function logUnavailable(err: unknown): void {
  log.warn("model-proxy", "circuit breaker unavailable", { op: "circuit", message: errorMessage(err) });
}
