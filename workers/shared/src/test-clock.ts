import { z } from "zod";

/**
 * A clock the system tests can move forward, so behaviour that depends on time (the limiter's
 * 60-second window and lease expiry, circuit cool-downs) is tested without waiting for it.
 *
 * It can only move in the test stack: a Worker honours it when its vars say both
 * `ENVIRONMENT = "test"` and `TEST_CLOCK = "true"`. No wrangler config declares either value (they
 * deploy `ENVIRONMENT = "development"` and no `TEST_CLOCK`); only `startStack` in
 * test/support/stack.ts sets them. Everywhere else `advance` refuses and the clock is `Date.now`.
 *
 * The offset lives in the object whose clock it is (a Durable Object instance), so every isolate
 * that calls that object sees the same time; reading it is an addition, never a storage read.
 */
export interface TestClockVars {
  ENVIRONMENT?: string;
  TEST_CLOCK?: string;
  ROUTING_SEED?: string;
}

/** Whether this Worker's vars allow a test clock (see above). */
export function testClockAllowed(env: object): boolean {
  const vars: TestClockVars = env;
  return vars.ENVIRONMENT === "test" && vars.TEST_CLOCK === "true";
}

/**
 * The RateLimiter object whose clock the gateway's isolate caches follow in the test stack
 * (workers/gateway/src/middleware/test-clock.ts). Unlike the limiter's own clock it never stops:
 * the gateway's time is `Date.now()` plus how far this object's clock was moved, read by every
 * gateway isolate on every request, so a test that moves it past a cache's lifetime
 * (contracts/propagation.ts) sees every isolate's copy expire, however many there are.
 */
export const GATEWAY_CLOCK_OBJECT = "test-clock:gateway";

/** How far one call may move a clock: a day, more than any window or cool-down in the system. */
export const MAX_CLOCK_STEP_MS = 86_400_000;
const ClockStepSchema = z.number().int().nonnegative().max(MAX_CLOCK_STEP_MS);

/** A moved clock's state, to be kept by its owner so an evicted object does not step back in time. */
export interface ClockState {
  stoppedAt: number;
  offsetMs: number;
}

export type AdvanceClockResult = { ok: true; state: ClockState } | { ok: false; message: string };

/**
 * `Date.now()` until a test moves it. The first move also stops it: from then on its time passes
 * only when moved, so a test can expect exact times (`retry-after-ms: 57000`, not "about 57 s").
 * `advance(0)` just stops it. Where `testClockAllowed` is false, `advance` refuses and `now` is
 * `Date.now`.
 */
export class TestClock {
  #state: ClockState | null;

  constructor(
    private readonly allowed: boolean,
    state: ClockState | null = null,
  ) {
    this.#state = allowed ? state : null;
  }

  readonly now = (): number => (this.#state ? this.#state.stoppedAt + this.#state.offsetMs : Date.now());

  /** How far the clock has been moved in all (0 if never), for a clock that runs ahead of `Date.now` (`GATEWAY_CLOCK_OBJECT`). */
  get offsetMs(): number {
    return this.#state?.offsetMs ?? 0;
  }

  /** Moves the clock forward by `ms` (validated here: the caller passes what it was sent). */
  advance(ms: unknown): AdvanceClockResult {
    if (!this.allowed) return { ok: false, message: "the clock can only be moved in the test stack (ENVIRONMENT=test, TEST_CLOCK=true)" };
    const step = ClockStepSchema.safeParse(ms);
    if (!step.success) return { ok: false, message: `ms must be an integer from 0 to ${MAX_CLOCK_STEP_MS}` };
    const state = this.#state ?? { stoppedAt: Date.now(), offsetMs: 0 };
    this.#state = { stoppedAt: state.stoppedAt, offsetMs: state.offsetMs + step.data };
    return { ok: true, state: this.#state };
  }
}

/**
 * The random source of choices the tests must be able to repeat (weighted routing): `Math.random`,
 * except in the test stack (`testClockAllowed`) with a `ROUTING_SEED` var, where it is a seeded
 * PRNG (mulberry32), so a test's split is the same on every run. Each isolate draws its own
 * sequence from the seed.
 */
export function seededRandom(env: object): () => number {
  const vars: TestClockVars = env;
  const seed = Number(vars.ROUTING_SEED);
  if (!testClockAllowed(env) || vars.ROUTING_SEED === undefined || !Number.isInteger(seed)) return Math.random;
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}
