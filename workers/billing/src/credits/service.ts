import { fail, monthOf, ok, usdToMicros, validationError, verifyActor, type Result } from "../../../shared/src";
import {
  CreditGrantInputSchema,
  CreditSettingsInputSchema,
  type CreditBalance,
  type CreditGrant,
  type CreditLimit,
} from "../../../shared/src/contracts/credits";
import { requireAdmin, requireUsageReader, type VerifyKeys } from "../usage/access";
import { CreditStore, MAX_GRANTS_PER_TENANT } from "./store";

const validTenantId = (id: unknown): id is string => typeof id === "string" && /^[A-Za-z0-9_-]{1,100}$/.test(id);

/** The credit operations behind billing's RPC methods: the admin grants; a tenant reads its own; the gateway reads a tenant's month limit. */
export class Credits {
  #store: CreditStore;
  #keys: VerifyKeys;
  #now: () => number;

  constructor(db: D1Database, keys: VerifyKeys, now: () => number) {
    this.#store = new CreditStore(db);
    this.#keys = keys;
    this.#now = now;
  }

  async grant(actor: unknown, tenantId: unknown, input: unknown): Promise<Result<CreditGrant>> {
    const admin = await requireAdmin(actor, this.#keys);
    if (!admin.ok) return admin;
    if (!validTenantId(tenantId)) return fail({ code: "not_found", message: "No such tenant.", param: "id" });
    const parsed = CreditGrantInputSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const now = this.#now();
    const expiresAt = parsed.data.expires_at === undefined ? null : parsed.data.expires_at * 1000;
    if (expiresAt !== null && expiresAt <= now) return fail({ code: "invalid_request", message: "expires_at must be in the future.", param: "expires_at" });
    const grant = await this.#store.grant(tenantId, usdToMicros(parsed.data.amount_usd), expiresAt, now);
    return grant ? ok(grant) : fail({ code: "conflict", message: `A tenant holds at most ${MAX_GRANTS_PER_TENANT} credit grants.` });
  }

  /** The tenant's balance and grants (admin, or a key of that tenant with `usage:read`); not prepaid: no grants, balance 0. */
  async balance(actor: unknown, tenantId: unknown): Promise<Result<CreditBalance>> {
    if (!validTenantId(tenantId)) return fail({ code: "not_found", message: "No such tenant.", param: "id" });
    const allowed = await requireUsageReader(actor, this.#keys, tenantId, null);
    if (!allowed.ok) return allowed;
    const now = this.#now();
    const balance = await this.#store.balance(tenantId, now);
    if (balance) return ok(balance);
    const floor = await this.#store.floor(tenantId);
    return ok({
      object: "credit_balance",
      tenant_id: tenantId,
      balance_micros: 0,
      overdrawn_micros: 0,
      month: monthOf(now),
      month_limit_micros: 0,
      drawn_micros: 0,
      low_balance_micros: floor ?? 0,
      low_balance_default: floor === null,
      grants: [],
    });
  }

  /** Admin: sets the tenant's low-balance floor (`low_balance_usd`; null = back to the default); answers the balance. */
  async settings(actor: unknown, tenantId: unknown, input: unknown): Promise<Result<CreditBalance>> {
    const admin = await requireAdmin(actor, this.#keys);
    if (!admin.ok) return admin;
    if (!validTenantId(tenantId)) return fail({ code: "not_found", message: "No such tenant.", param: "id" });
    const parsed = CreditSettingsInputSchema.safeParse(input);
    if (!parsed.success) return fail(validationError(parsed.error));
    const usd = parsed.data.low_balance_usd;
    await this.#store.setFloor(tenantId, usd === null ? null : usdToMicros(usd), this.#now());
    return this.balance(actor, tenantId);
  }

  /**
   * The month limit the gateway reserves a prepaid tenant's requests against (`limit_micros`), or
   * null for a tenant without credits. `actor`: a principal token of that tenant.
   */
  async limit(actor: unknown, tenantId: unknown): Promise<Result<CreditLimit>> {
    const verified = await verifyActor(actor, this.#keys);
    if (!verified.ok) return verified;
    if (!validTenantId(tenantId) || (verified.value.kind === "key" && verified.value.claims.tenantId !== tenantId)) {
      return fail({ code: "not_found", message: "No such tenant.", param: "tenant_id" });
    }
    const now = this.#now();
    const balance = await this.#store.balance(tenantId, now);
    return ok({ month: monthOf(now), limit_micros: balance ? balance.month_limit_micros : null });
  }

  /** For invoices: the credits applied to a tenant's month. */
  applied(tenantId: string, month: string, subtotalMicros: number): Promise<number> {
    return this.#store.appliedTo(tenantId, month, subtotalMicros);
  }
}
