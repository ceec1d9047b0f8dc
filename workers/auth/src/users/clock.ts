import { testClockAllowed } from "../../../shared/src/test-clock";

/**
 * auth's time for sessions, invites and sign-in throttling: `Date.now()`, except in the test stack
 * (ENVIRONMENT=test, TEST_CLOCK=true: test/support/stack.ts only), where it is the gateway's clock
 * as the gateway passes it (`AuthCallContext.nowMs`), so a test moves time instead of waiting.
 */
export function clockOf(env: object, callerNowMs: unknown): number {
  return testClockAllowed(env) && typeof callerNowMs === "number" && Number.isFinite(callerNowMs) ? callerNowMs : Date.now();
}
