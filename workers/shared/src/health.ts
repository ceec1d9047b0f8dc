/** What every Worker's `health()` RPC returns: its own checks, each store it owns, by name. */
export interface CheckResult {
  ok: boolean;
  /** Milliseconds the check took. */
  ms: number;
  error?: string;
}

export interface ServiceHealth {
  service: string;
  ok: boolean;
  checks: Record<string, CheckResult>;
  /** Health of the services this one depends on and alone can reach (model-proxy → secrets). */
  dependencies?: Record<string, ServiceHealth>;
}

/** Runs named checks concurrently; a check fails if it throws or exceeds `timeoutMs`. */
export async function runChecks(service: string, checks: Record<string, () => Promise<unknown>>, timeoutMs = 2000): Promise<ServiceHealth> {
  const entries = await Promise.all(
    Object.entries(checks).map(async ([name, check]): Promise<[string, CheckResult]> => {
      const started = Date.now();
      try {
        await Promise.race([check(), new Promise((_, reject) => setTimeout(() => reject(new Error(`timed out after ${timeoutMs} ms`)), timeoutMs))]);
        return [name, { ok: true, ms: Date.now() - started }];
      } catch (err) {
        return [name, { ok: false, ms: Date.now() - started, error: err instanceof Error ? err.message : String(err) }];
      }
    }),
  );
  const results = Object.fromEntries(entries);
  return { service, ok: entries.every(([, r]) => r.ok), checks: results };
}
