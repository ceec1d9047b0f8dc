import type { Context } from "hono";
import type { RefusalReason } from "../../../shared/src/contracts/metrics";
import type { GatewayBindings } from "../types";
import { errorMessage, log } from "../../../shared/src/log";

/**
 * The `onRefused` of a request's limit reservation: counts the refusal once in rate-limiter's
 * RefusalCounter objects (GET /metrics `gateway_limiter_refusals_total`), after the 429, in
 * `waitUntil`. Admitted requests never call it.
 */
export function countRefusal(c: Context<GatewayBindings>): (reason: RefusalReason) => void {
  return (reason) =>
    c.executionCtx.waitUntil(
      c.env.RATE_LIMITER_SERVICE.countRefusal(reason, c.get("requestId")).catch((err: unknown) =>
        log.error("gateway", "refusal not counted", { requestId: c.get("requestId"), message: errorMessage(err) }),
      ),
    );
}
