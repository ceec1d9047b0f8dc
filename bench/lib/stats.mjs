// Percentiles over raw samples. autocannon's own latency histogram has a resolution of 1 ms, too
// coarse for sub-millisecond hops, so the bench records every response time itself (float ms from
// process.hrtime, as autocannon measures them) and computes the percentiles here.

/**
 * Nearest-rank percentile of ascending `sorted` (p in 0..100).
 * @param {number[]} sorted @param {number} p
 */
export function percentile(sorted, p) {
  if (sorted.length === 0) throw new Error("percentile of no samples");
  if (p <= 0) return /** @type {number} */ (sorted[0]);
  const rank = Math.ceil((p / 100) * sorted.length);
  return /** @type {number} */ (sorted[Math.min(rank, sorted.length) - 1]);
}

/**
 * @param {number[]} samples response times in ms
 * @returns {{ n: number, p50: number, p90: number, p99: number, mean: number }}
 */
export function summarize(samples) {
  const sorted = [...samples].sort((a, b) => a - b);
  const mean = sorted.reduce((a, b) => a + b, 0) / sorted.length;
  return { n: sorted.length, p50: percentile(sorted, 50), p90: percentile(sorted, 90), p99: percentile(sorted, 99), mean };
}
