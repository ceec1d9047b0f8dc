/**
 * Observed upstream latency per target, in isolate memory: an exponentially weighted moving
 * average of time to first byte. Shared across isolates it would cost a round trip per request;
 * each isolate measuring its own traffic converges to the same ranking quickly.
 */
export class LatencyTracker {
  private readonly ewma = new Map<string, number>();

  constructor(
    /** Weight of the newest sample. */
    private readonly alpha = 0.3,
    private readonly maxKeys = 10_000,
  ) {}

  record(key: string, ms: number): void {
    const previous = this.ewma.get(key);
    if (previous === undefined && this.ewma.size >= this.maxKeys) this.ewma.clear();
    this.ewma.set(key, previous === undefined ? ms : previous + this.alpha * (ms - previous));
  }

  /** A failed attempt counts as slow, so least-latency moves away from a failing target too. */
  penalise(key: string, ms: number): void {
    this.record(key, Math.max(ms, (this.ewma.get(key) ?? ms) * 2));
  }

  get(key: string): number | null {
    return this.ewma.get(key) ?? null;
  }
}
