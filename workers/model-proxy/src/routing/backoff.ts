/**
 * Delay before retrying the same target: exponential backoff with "equal jitter" (half fixed, half
 * random) so that clients retrying together spread out, and never sooner than the upstream's
 * `retry-after`. Returns null when the wait would exceed `maxMs`: waiting that long inside one
 * request is worse than moving on to the next target (or failing with the upstream's retry-after).
 */
export interface BackoffPolicy {
  baseMs: number;
  capMs: number;
  /** Longest wait the gateway accepts inside a request. */
  maxMs: number;
}

export const DEFAULT_BACKOFF: BackoffPolicy = { baseMs: 200, capMs: 2_000, maxMs: 5_000 };

export function retryDelayMs(retry: number, retryAfterMs: number | null, policy: BackoffPolicy, random: () => number): number | null {
  const exp = Math.min(policy.capMs, policy.baseMs * 2 ** Math.max(0, retry - 1));
  const jittered = exp / 2 + random() * (exp / 2);
  const delay = Math.max(jittered, retryAfterMs ?? 0);
  return delay > policy.maxMs ? null : Math.round(delay);
}
