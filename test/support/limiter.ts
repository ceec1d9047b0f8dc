import type { AcquireRequest, AcquireResult } from "../../workers/shared/src/contracts/limiter";
import type { AdvanceClockResult } from "../../workers/shared/src/test-clock";
import type { Stack } from "./stack";

interface LimiterObject {
  advanceClock(ms: number): Promise<AdvanceClockResult>;
  acquire(req: AcquireRequest): Promise<AcquireResult>;
}

async function limiterObject(stack: Stack, object: string): Promise<LimiterObject> {
  const env = (await stack.harness.getWorker("rate-limiter").getEnv()) as { RATE_LIMITER: { idFromName(name: string): unknown; get(id: unknown): LimiterObject } };
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
