import type { AdvanceClockResult } from "../../workers/shared/src/test-clock";
import type { Stack } from "./stack";

interface LimiterObject {
  advanceClock(ms: number): Promise<AdvanceClockResult>;
}

/**
 * Moves one RateLimiter object's clock forward (the test stack's test clock,
 * workers/shared/src/test-clock.ts): its windows slide and its leases expire as if `ms` had passed.
 * `object` is the object's name: `key:<key id>` for a key whose tenant has no limits, else `tenant:<id>`.
 */
export async function advanceLimiterClock(stack: Stack, object: string, ms: number): Promise<void> {
  const env = (await stack.harness.getWorker("rate-limiter").getEnv()) as { RATE_LIMITER: { idFromName(name: string): unknown; get(id: unknown): LimiterObject } };
  const result = await env.RATE_LIMITER.get(env.RATE_LIMITER.idFromName(object)).advanceClock(ms);
  if (!result.ok) throw new Error(`the limiter's clock did not move: ${result.message}`);
}
