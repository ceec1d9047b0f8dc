import type { AcquireRequest, AcquireResult } from "../../workers/shared/src/contracts/limiter";
import type { AdvanceClockResult } from "../../workers/shared/src/test-clock";
import type { Stack } from "./stack";

/**
 * The rate limiter's Durable Objects, reached directly (the test clock, leases and counters a test
 * cannot see through the gateway). Requests to the gateway: ./fetch.ts and ./clients.ts.
 */

/** A subject's counters in one RateLimiter object (its `snapshot` method). */
export interface LimiterSnapshot {
  requests: number;
  inFlight: number;
  spentMicros: number;
  reservedMicros: number;
}

interface LimiterObject {
  advanceClock(ms: number): Promise<AdvanceClockResult>;
  acquire(req: AcquireRequest): Promise<AcquireResult>;
  snapshot(subject: string): Promise<LimiterSnapshot>;
}

async function limiterObject(stack: Pick<Stack, "harness">, object: string): Promise<LimiterObject> {
  const env = (await stack.harness.getWorker("rate-limiter").getEnv()) as {
    RATE_LIMITER: { idFromName(name: string): unknown; get(id: unknown): LimiterObject };
  };
  return env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(object));
}

/**
 * Moves one RateLimiter object's clock forward (the test stack's test clock,
 * workers/shared/src/test-clock.ts): its windows slide and its leases expire as if `ms` had passed.
 * `object` is the object's name: `key:<key id>` for a key whose tenant has no limits, else `tenant:<id>`.
 */
export async function advanceLimiterClock(stack: Stack, object: string, ms: number): Promise<void> {
  const result = await (await limiterObject(stack, object)).advanceClock(ms);
  if (!result.ok) throw new Error(`the limiter's clock did not move: ${result.message}`);
}

/** Acquires a lease in `object` directly, as a gateway does before calling the upstream (and then, here, never settles). */
export async function acquireLease(stack: Stack, object: string, req: AcquireRequest): Promise<AcquireResult> {
  return (await limiterObject(stack, object)).acquire(req);
}

/** `subject`'s counters (e.g. `key:<key id>`) in the RateLimiter object named `object`. */
export async function limiterSnapshot(stack: Pick<Stack, "harness">, object: string, subject: string): Promise<LimiterSnapshot> {
  return (await limiterObject(stack, object)).snapshot(subject);
}
