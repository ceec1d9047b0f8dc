import { BillingAlerts } from "./alerts";

/** The alerts over billing's bindings: tail's `TenantEvents` (webhooks) and auth's `BillingAudit` (audit log). */
export function billingAlerts(env: BillingEnv, now: () => number = Date.now): BillingAlerts {
  return new BillingAlerts(
    env.BILLING_DB,
    {
      emit: (input) => env.TENANT_EVENTS.emit(input),
      audit: (input) => env.AUDIT.record(input),
    },
    now,
  );
}
