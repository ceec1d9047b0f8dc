/**
 * OpenAI's duration format for `x-ratelimit-reset-*` (Go's `time.Duration` string): `20ms`, `1s`,
 * `1.5s`, `6m0s`, `1h2m3s`. Rounded up to the millisecond so a client waiting that long is never
 * early.
 */
export function openAIDuration(ms: number): string {
  const total = Math.max(0, Math.ceil(ms));
  if (total < 1000) return `${total}ms`;
  const h = Math.floor(total / 3_600_000);
  const m = Math.floor((total % 3_600_000) / 60_000);
  const s = trimZeros(((total % 60_000) / 1000).toFixed(3));
  if (h > 0) return `${h}h${m}m${s}s`;
  if (m > 0) return `${m}m${s}s`;
  return `${s}s`;
}

function trimZeros(fixed: string): string {
  return fixed.replace(/\.?0+$/, "") || "0";
}
