import { z } from "zod";

/** Prepaid credits (`POST /admin/tenants/{id}/credits`, `GET …/credits`): shapes and inputs, in integer micro-dollars. */

export const CreditGrantInputSchema = z
  .object({
    amount_usd: z.number().positive().max(1_000_000),
    /** Unix seconds; absent = never expires. */
    expires_at: z.number().int().positive().max(32_503_680_000).optional(),
  })
  .strict();

export const CreditGrantSchema = z.object({
  id: z.string(),
  object: z.literal("credit_grant"),
  tenant_id: z.string(),
  amount_micros: z.number().int(),
  expires_at: z.number().int().nullable(),
  created_at: z.number().int(),
});
export type CreditGrant = z.infer<typeof CreditGrantSchema>;

/** A grant as the balance shows it: what was drawn from it by recorded usage and what remains (0 once expired). */
export const CreditGrantStateSchema = CreditGrantSchema.extend({
  drawn_micros: z.number().int(),
  remaining_micros: z.number().int(),
  expired: z.boolean(),
});
export type CreditGrantState = z.infer<typeof CreditGrantStateSchema>;

/** `PUT /admin/tenants/{id}/credits/settings`: the low-balance floor (`billing.credits_low`); null = the default. */
export const CreditSettingsInputSchema = z
  .object({
    low_balance_usd: z.number().nonnegative().max(1_000_000).nullable(),
  })
  .strict();

export const CreditBalanceSchema = z.object({
  object: z.literal("credit_balance"),
  tenant_id: z.string(),
  /** What remains of unexpired grants after the recorded usage since the first grant. */
  balance_micros: z.number().int(),
  /** Recorded usage the grants did not cover (0 unless a settle passed its reservation). */
  overdrawn_micros: z.number().int(),
  /** 'YYYY-MM' (UTC) and the month limit the limiter reserves against: balance + the month's recorded spend. */
  month: z.string(),
  month_limit_micros: z.number().int(),
  /** Recorded usage drawn from the grants since the first one (what the grants paid for). */
  drawn_micros: z.number().int(),
  /**
   * The low-balance floor: a `billing.credits_low` tenant event (and an audit row) when the balance
   * falls below it, once per grant. The tenant's setting, else 10 % of the newest grant; 0 = off.
   */
  low_balance_micros: z.number().int(),
  low_balance_default: z.boolean(),
  /** Oldest first, each with what was drawn from it and what remains. */
  grants: z.array(CreditGrantStateSchema),
});
export type CreditBalance = z.infer<typeof CreditBalanceSchema>;

/** What the gateway caches per tenant: prepaid or not, and the month limit to reserve against. */
export const CreditLimitSchema = z.object({ month: z.string(), limit_micros: z.number().int().nullable() });
export type CreditLimit = z.infer<typeof CreditLimitSchema>;
