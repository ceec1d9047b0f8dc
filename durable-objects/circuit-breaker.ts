import { DurableObject } from "cloudflare:workers";
import { errorMessage, log } from "../workers/shared/src/log";

/**
 * One circuit per upstream deployment (provider × model), shared by every model-proxy isolate, and
 * the deployment's use this minute (requests, tokens) for `rpm`/`tpm` limits and usage-based routing.
 *
 *   closed ──(threshold failures within the window)──▶ open ──(cool-down elapsed)──▶ half-open
 *     ▲                                                  ▲                               │
 *     └──────────────(the probe succeeds)────────────────┼───────(the probe fails)───────┘
 *
 * While open, requests skip the target. After the cool-down exactly one request at a time is
 * admitted as a probe (a probe that never reports back expires, so a lost probe cannot wedge the
 * circuit half-open); its success closes the circuit, its failure re-opens it for another cool-down.
 *
 * The object is called only when something changes (a failure, a probe, a success after failures)
 * and by background refreshes, never on the success path of a healthy target: model-proxy keeps
 * the last state it saw in isolate memory (routing/breaker.ts).
 */
export type CircuitPhase = "closed" | "open" | "half_open";

export interface Circuit {
  phase: CircuitPhase;
  /** Failures counted since `windowStart` while closed. */
  failures: number;
  windowStart: number;
  /** When an open circuit admits its next probe (epoch ms). */
  retryAt: number;
  /** While half-open: when the current probe's lease lapses. */
  probeUntil: number;
}

export interface CircuitConfig {
  /** Failures within `windowMs` that open the circuit. */
  threshold: number;
  windowMs: number;
  cooldownMs: number;
  /** How long a probe may take before another request may probe instead. */
  probeLeaseMs: number;
}

/** What callers see: the phase and, while not closed, when to ask again. */
export interface CircuitView {
  phase: CircuitPhase;
  failures: number;
  retryAt: number;
}

export const CLOSED: Circuit = { phase: "closed", failures: 0, windowStart: 0, retryAt: 0, probeUntil: 0 };

export function onFailure(c: Circuit, now: number, cfg: CircuitConfig): Circuit {
  if (c.phase === "half_open") return open(now, cfg);
  if (c.phase === "open") return c; // a straggler that started before the circuit opened
  const fresh = now - c.windowStart > cfg.windowMs;
  const failures = fresh ? 1 : c.failures + 1;
  if (failures >= cfg.threshold) return open(now, cfg);
  return { ...CLOSED, failures, windowStart: fresh ? now : c.windowStart };
}

export function onSuccess(c: Circuit): Circuit {
  // A straggler's success while open says little about now; only a probe (or a closed call) decides.
  if (c.phase === "open") return c;
  return CLOSED;
}

/** May a request use the target now? Grants the half-open probe lease when the cool-down is over. */
export function admit(c: Circuit, now: number, cfg: CircuitConfig): { allowed: boolean; probe: boolean; circuit: Circuit } {
  if (c.phase === "closed") return { allowed: true, probe: false, circuit: c };
  const due = c.phase === "open" ? now >= c.retryAt : now >= c.probeUntil;
  if (!due) return { allowed: false, probe: false, circuit: c };
  return { allowed: true, probe: true, circuit: { ...c, phase: "half_open", probeUntil: now + cfg.probeLeaseMs } };
}

function open(now: number, cfg: CircuitConfig): Circuit {
  return { phase: "open", failures: 0, windowStart: now, retryAt: now + cfg.cooldownMs, probeUntil: 0 };
}

export function viewOf(c: Circuit): CircuitView {
  return { phase: c.phase, failures: c.failures, retryAt: c.phase === "half_open" ? c.probeUntil : c.retryAt };
}

/**
 * A deployment's use this minute, for LiteLLM's per-deployment `rpm`/`tpm` and its usage-based
 * routing: counted where every isolate's requests meet (this object), so the limits are exact
 * across isolates. Kept in memory only: an evicted object forgets at most the current minute.
 */
export interface MinuteUsage {
  /** Epoch minute (`floor(ms / 60000)`) the counts belong to. */
  minute: number;
  requests: number;
  tokens: number;
}

export interface UsageLimits {
  rpm?: number;
  tpm?: number;
}

export interface UsageDecision {
  allowed: boolean;
  /** When the deployment takes requests again, if refused (the next minute). */
  retryAt: number;
  usage: MinuteUsage;
}

const MINUTE_MS = 60_000;

export function currentUsage(u: MinuteUsage, now: number): MinuteUsage {
  const minute = Math.floor(now / MINUTE_MS);
  return u.minute === minute ? u : { minute, requests: 0, tokens: 0 };
}

/** Takes one request of `tokens` if it fits this minute's `rpm`/`tpm`; a refusal takes nothing. */
export function takeUsage(u: MinuteUsage, limits: UsageLimits, tokens: number, now: number): UsageDecision {
  const current = currentUsage(u, now);
  const overRpm = limits.rpm !== undefined && current.requests + 1 > limits.rpm;
  // A request larger than the whole tpm is let through on an idle minute, or it could never run.
  const overTpm = limits.tpm !== undefined && current.tokens + tokens > limits.tpm && current.tokens > 0;
  if (overRpm || overTpm) return { allowed: false, retryAt: (current.minute + 1) * MINUTE_MS, usage: current };
  return { allowed: true, retryAt: 0, usage: { ...current, requests: current.requests + 1, tokens: current.tokens + tokens } };
}

const STATE_KEY = "circuit";

/** The model-proxy bindings the object uses: its D1, where each phase change is listed for GET /metrics. */
export interface CircuitBreakerEnv {
  PROXY_DB?: D1Database;
}

/**
 * The Durable Object holding one deployment's circuit. Named by the deployment key
 * (`<provider id>/<model>`). State is persisted on every transition so an evicted object does not
 * forget an open circuit; reads are served from memory. Every phase change is also written to
 * model-proxy's D1 (`circuit_states`, migrations/proxy/0004), which GET /metrics reads: no scrape
 * wakes one object per circuit, and the object is that row's only writer.
 */
export class CircuitBreaker extends DurableObject<CircuitBreakerEnv> {
  private circuit: Circuit | undefined;
  private minute: MinuteUsage = { minute: 0, requests: 0, tokens: 0 };
  /** Orders this object's writes to `circuit_states` (a later object run starts later in time). */
  #seq = Date.now() * 1000;

  private load(): Circuit {
    this.circuit ??= this.ctx.storage.kv.get<Circuit>(STATE_KEY) ?? CLOSED;
    return this.circuit;
  }

  private save(next: Circuit): CircuitView {
    const previous = this.load();
    this.circuit = next;
    if (JSON.stringify(previous) !== JSON.stringify(next)) this.ctx.storage.kv.put(STATE_KEY, next);
    if (previous.phase !== next.phase) this.#listPhase(next.phase);
    return viewOf(next);
  }

  /** Lists the new phase in `circuit_states`, off the caller's path; a lost write is overwritten by the next change. */
  #listPhase(phase: CircuitPhase): void {
    const name = this.ctx.id.name;
    const db = this.env.PROXY_DB;
    if (!name || !db) return;
    const seq = ++this.#seq;
    const write = db
      .prepare(
        `INSERT INTO circuit_states (circuit, phase, seq, updated_at) VALUES (?, ?, ?, ?)
         ON CONFLICT (circuit) DO UPDATE SET phase = excluded.phase, seq = excluded.seq, updated_at = excluded.updated_at WHERE excluded.seq > circuit_states.seq`,
      )
      .bind(name, phase, seq, Date.now())
      .run()
      .catch((err: unknown) => log.error("model-proxy", "circuit state not listed", { message: errorMessage(err) }));
    this.ctx.waitUntil(write);
  }

  async state(): Promise<CircuitView> {
    return viewOf(this.load());
  }

  async admit(cfg: CircuitConfig, now: number = Date.now()): Promise<{ allowed: boolean; probe: boolean; view: CircuitView }> {
    const decision = admit(this.load(), now, cfg);
    return { allowed: decision.allowed, probe: decision.probe, view: this.save(decision.circuit) };
  }

  async failure(cfg: CircuitConfig, now: number = Date.now()): Promise<CircuitView> {
    return this.save(onFailure(this.load(), now, cfg));
  }

  async success(): Promise<CircuitView> {
    return this.save(onSuccess(this.load()));
  }

  /** Counts a request of `tokens` against this minute's limits; refused when it would pass one. */
  async take(limits: UsageLimits, tokens: number, now: number = Date.now()): Promise<UsageDecision> {
    const decision = takeUsage(this.minute, limits, Math.max(0, Math.floor(tokens)), now);
    this.minute = decision.usage;
    return decision;
  }

  /** This minute's use so far. */
  async usage(now: number = Date.now()): Promise<MinuteUsage> {
    return currentUsage(this.minute, now);
  }
}
