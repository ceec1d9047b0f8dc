import { z } from "@hono/zod-openapi";
import { runChecks, type ServiceHealth } from "../../../shared/src";

const CheckSchema = z.object({ ok: z.boolean(), ms: z.number(), error: z.string().optional() });
const ServiceSchema = z.object({ ok: z.boolean(), checks: z.record(z.string(), CheckSchema) });

/** The full report: every Worker over its binding and each store it owns (admin token only). */
export const HealthReportSchema = z
  .object({
    status: z.enum(["ok", "unhealthy"]),
    failed: z.array(z.string()).openapi({ description: "`service.check` names that failed" }),
    services: z.record(z.string(), ServiceSchema),
  })
  .openapi("Health");
export type HealthReport = z.infer<typeof HealthReportSchema>;

type Probe = () => Promise<ServiceHealth>;

/** A dependency that cannot be reached at all is reported as one failed `binding` check. */
async function probe(name: string, call: Probe): Promise<ServiceHealth> {
  try {
    return await call();
  } catch (err) {
    return { service: name, ok: false, checks: { binding: { ok: false, ms: 0, error: err instanceof Error ? err.message : String(err) } } };
  }
}

/** Flattens a service's health (and what it alone reaches, e.g. model-proxy → secrets) into the report. */
function collect(h: ServiceHealth, into: HealthReport["services"]): void {
  into[h.service] = { ok: h.ok && Object.values(h.checks).every((c) => c.ok), checks: h.checks };
  for (const dep of Object.values(h.dependencies ?? {})) collect(dep, into);
}

/** Asks every Worker for its checks (each touches its stores): one call per Worker, concurrently. */
export async function checkEverything(env: GatewayEnv): Promise<HealthReport> {
  const results = await Promise.all([
    runChecks("gateway", {
      queue_usage_events: async () => {
        if (typeof env.USAGE_EVENTS?.send !== "function") throw new Error("USAGE_EVENTS binding missing");
      },
      analytics: async () => {
        if (typeof env.ANALYTICS?.writeDataPoint !== "function") throw new Error("ANALYTICS binding missing");
      },
    }),
    probe("auth", () => env.AUTH.health()),
    probe("tail", () => env.TAIL.health()),
    probe("billing", () => env.BILLING.health()),
    probe("model-proxy", () => env.MODEL_PROXY.health()),
    probe("rate-limiter", () => env.RATE_LIMITER_SERVICE.health()),
  ]);
  const services: HealthReport["services"] = {};
  for (const r of results) collect(r, services);
  if (!services["secrets"]) services["secrets"] = { ok: false, checks: { binding: { ok: false, ms: 0, error: "not reported by model-proxy" } } };
  const failed = Object.entries(services).flatMap(([name, s]) =>
    Object.entries(s.checks)
      .filter(([, ch]) => !ch.ok)
      .map(([check]) => `${name}.${check}`),
  );
  return { status: failed.length === 0 ? "ok" : "unhealthy", failed, services };
}
