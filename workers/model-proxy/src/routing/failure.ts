import type { ApiErrorInit } from "../../../shared/src";

/** What the router does after a failed attempt. */
export interface FailurePolicy {
  /** Another attempt at the same target may succeed (transient: 5xx, timeout, connection, 429). */
  retrySame: boolean;
  /** Another target may succeed. False for errors in the request itself (the upstream's 400). */
  tryNext: boolean;
  /** Counts towards opening the target's circuit (the target itself is failing). */
  tripsCircuit: boolean;
  /** The upstream's `retry-after`, ms, if it sent one. */
  retryAfterMs: number | null;
}

/**
 * Classifies an attempt's error (as adapters raise them, see providers/upstream-errors.ts).
 *
 * - 429 / timeout / 5xx / connection failure: transient → retry, fall back, count for the circuit.
 * - upstream 401/403 (`upstream_auth_error`), exhausted quota, a model the provider does not have,
 *   a credential that cannot be decrypted or loaded: this target cannot serve it → next target, no retry.
 *   They do not trip the circuit: they are configuration problems whose fix must apply at once.
 * - the upstream's 4xx about the request (`invalid_request`, ...): the same request fails
 *   everywhere → returned to the client as is. A content-policy refusal or a prompt over the
 *   context (`content_policy_violation`, `context_length_exceeded`) is such a 4xx within a model
 *   group; route-request.ts then moves to the group's content-policy / context-window fallbacks.
 */
export function failurePolicy(error: ApiErrorInit): FailurePolicy {
  const retryAfterMs = retryAfterOf(error);
  switch (error.code) {
    case "upstream_rate_limited":
    case "upstream_timeout":
    case "upstream_unavailable":
      return { retrySame: true, tryNext: true, tripsCircuit: true, retryAfterMs };
    case "upstream_error": {
      const final = error.headers?.["x-should-retry"] === "false";
      return { retrySame: !final, tryNext: true, tripsCircuit: !final, retryAfterMs };
    }
    case "upstream_auth_error":
    case "model_not_found":
    case "internal_error":
    case "service_unavailable":
      return { retrySame: false, tryNext: true, tripsCircuit: false, retryAfterMs };
    default:
      return { retrySame: false, tryNext: false, tripsCircuit: false, retryAfterMs };
  }
}

function retryAfterOf(error: ApiErrorInit): number | null {
  const value = error.headers?.["retry-after"];
  if (value === undefined) return null;
  const seconds = Number(value);
  return Number.isFinite(seconds) && seconds >= 0 ? seconds * 1000 : null;
}
