import { WorkerEntrypoint } from "cloudflare:workers";
import { fail, privateWorkerFetch, runChecks, validationError, type Principal, type Result, type ServiceHealth } from "../../shared/src";
import {
  AuditQuerySchema,
  type ApiKey,
  type AuditEntry,
  type AuditRecord,
  type AuthCallContext,
  type CreatedApiKey,
  type ListPage,
  type RotatedApiKey,
  type Tenant,
} from "../../shared/src/contracts/auth";
import { requireAdmin, resolveActor, type Acting } from "./admin/actor";
import { listAudit, recordAudit, recordBillingAudit } from "./admin/audit";
import { createKey, getKey, listKeys, revokeKey, rotateKey, updateKey } from "./admin/keys";
import { createTenant, disableTenant, getTenant, listTenants, updateTenant } from "./admin/tenants";
import { authenticate } from "./authenticate/authenticate";
import { principalOfKey } from "./authenticate/by-key";
import { AuthCallContextSchema } from "../../shared/src/contracts/auth";
import type { ConsoleUser, CreatedInvite, Member, Role, SessionCredential, SessionGrant } from "../../shared/src/contracts/users";
import { clockOf } from "./users/clock";
import { listMembers, removeMember, updateMember } from "./users/members";
import { acceptInvite, checkSession, consolePrincipal, createInvite, createOperator, login, logout } from "./users/users";
import { errorMessage, log } from "../../shared/src/log";

/**
 * auth: tenants, API keys and principal tokens. Reached only through service bindings (RPC).
 * Every method returns a `Result` and never throws across RPC; inputs are validated here, the
 * callee, with the shared zod schemas. Admin methods take an `AuthCallContext` naming the actor.
 */
export class AuthService extends WorkerEntrypoint<AuthEnv> {
  async health(): Promise<ServiceHealth> {
    return runChecks("auth", {
      d1: () => this.env.AUTH_DB.prepare("SELECT 1").first(),
      kv: () => this.env.AUTH_CACHE.get("health:probe"),
    });
  }

  /** The hot path's one call (on a miss of the gateway's in-isolate cache). */
  async authenticate(apiKey: string): Promise<Result<Principal>> {
    return this.guard("authenticate", undefined, () => authenticate({ env: this.env, waitUntil: (p) => this.ctx.waitUntil(p) }, apiKey));
  }

  /**
   * The principal of a key by id, read from D1 now: for work a key started earlier that the gateway
   * runs later (batch lines, gateway `BatchLineService`). Internal only (service binding).
   */
  async principalForKey(keyId: string): Promise<Result<Principal>> {
    return this.guard("principalForKey", undefined, () => principalOfKey(this.env, keyId));
  }

  createTenant(ctx: AuthCallContext, input: unknown): Promise<Result<Tenant>> {
    return this.acting(ctx, (a) => createTenant(this.env, a, input));
  }
  listTenants(ctx: AuthCallContext, query?: unknown): Promise<Result<ListPage<Tenant>>> {
    return this.acting(ctx, (a) => listTenants(this.env, a, query));
  }
  getTenant(ctx: AuthCallContext, tenantId: string): Promise<Result<Tenant>> {
    return this.acting(ctx, (a) => getTenant(this.env, a, tenantId));
  }
  updateTenant(ctx: AuthCallContext, tenantId: string, input: unknown): Promise<Result<Tenant>> {
    return this.acting(ctx, (a) => updateTenant(this.env, a, tenantId, input));
  }
  /** DELETE /admin/tenants/{id}: disables the tenant and revokes all its keys. */
  disableTenant(ctx: AuthCallContext, tenantId: string): Promise<Result<Tenant>> {
    return this.acting(ctx, (a) => disableTenant(this.env, a, tenantId));
  }

  createKey(ctx: AuthCallContext, tenantId: string, input: unknown): Promise<Result<CreatedApiKey>> {
    return this.acting(ctx, (a) => createKey(this.env, a, tenantId, input));
  }
  listKeys(ctx: AuthCallContext, tenantId: string, query?: unknown): Promise<Result<ListPage<ApiKey>>> {
    return this.acting(ctx, (a) => listKeys(this.env, a, tenantId, query));
  }
  getKey(ctx: AuthCallContext, keyId: string): Promise<Result<ApiKey>> {
    return this.acting(ctx, (a) => getKey(this.env, a, keyId));
  }
  updateKey(ctx: AuthCallContext, keyId: string, input: unknown): Promise<Result<ApiKey>> {
    return this.acting(ctx, (a) => updateKey(this.env, a, keyId, input));
  }
  revokeKey(ctx: AuthCallContext, keyId: string): Promise<Result<ApiKey>> {
    return this.acting(ctx, (a) => revokeKey(this.env, a, keyId));
  }
  rotateKey(ctx: AuthCallContext, keyId: string, input?: unknown): Promise<Result<RotatedApiKey>> {
    return this.acting(ctx, (a) => rotateKey(this.env, a, keyId, input));
  }

  listAuditLog(ctx: AuthCallContext, query?: unknown): Promise<Result<ListPage<AuditEntry>>> {
    return this.acting(ctx, async (a) => {
      const admin = requireAdmin(a.actor);
      if (!admin.ok) return admin;
      const parsed = AuditQuerySchema.safeParse(query ?? {});
      if (!parsed.success) return fail(validationError(parsed.error));
      return { ok: true, value: await listAudit(this.env.AUTH_DB, parsed.data) };
    });
  }

  // ---- users and the console (users/) ----

  /** Console sign-in; `ctx` names the request (and, in the test stack, the clock); no actor. */
  login(ctx: { requestId: string; nowMs?: number }, attempt: unknown): Promise<Result<SessionGrant>> {
    return this.anonymous(ctx, (requestId, nowMs) => login(this.env, attempt, nowMs, requestId));
  }
  /** Accepting an invite link: creates (or joins) the user and signs them in. */
  acceptInvite(ctx: { requestId: string; nowMs?: number }, input: unknown): Promise<Result<SessionGrant>> {
    return this.anonymous(ctx, (requestId, nowMs) => acceptInvite(this.env, input, nowMs, requestId));
  }
  /** The session a console cookie names (session actor), with a rotated token when due. */
  checkSession(ctx: AuthCallContext): Promise<Result<SessionGrant>> {
    return this.withSession(ctx, (credential, nowMs) => checkSession(this.env, credential, nowMs));
  }
  logout(ctx: AuthCallContext): Promise<Result<true>> {
    return this.withSession(ctx, (credential, nowMs, requestId) => logout(this.env, credential, nowMs, requestId));
  }
  /** POST /admin/operators (admin context): the first operator, bootstrapped by the admin token. */
  createOperator(ctx: AuthCallContext, input: unknown): Promise<Result<ConsoleUser>> {
    return this.acting(ctx, (a) => createOperator(this.env, a, input, clockOf(this.env, ctx?.nowMs)));
  }
  createInvite(ctx: AuthCallContext, input: unknown): Promise<Result<CreatedInvite>> {
    return this.acting(ctx, (a) => createInvite(this.env, a, input, clockOf(this.env, ctx?.nowMs)));
  }
  /** A tenant's members: any member reads them; the admin token and operators read every tenant's. */
  listMembers(ctx: AuthCallContext, tenantId: string): Promise<Result<{ object: "list"; data: Member[] }>> {
    return this.acting(ctx, (a) => listMembers(this.env, a, tenantId));
  }
  /** A member's new role (owners and operators; never the tenant's last owner). Audited. */
  updateMember(ctx: AuthCallContext, tenantId: string, userId: string, input: unknown): Promise<Result<Member>> {
    return this.acting(ctx, (a) => updateMember(this.env, a, tenantId, userId, input, Math.floor(clockOf(this.env, ctx?.nowMs) / 1000)));
  }
  /** Removes a member from a tenant (owners and operators; never the last owner). Audited. */
  removeMember(ctx: AuthCallContext, tenantId: string, userId: string): Promise<Result<{ object: "member"; user_id: string; deleted: true }>> {
    return this.acting(ctx, (a) => removeMember(this.env, a, tenantId, userId, Math.floor(clockOf(this.env, ctx?.nowMs) / 1000)));
  }
  /** A read-only principal token for a console user in one of their tenants (usage, providers). */
  consolePrincipal(ctx: AuthCallContext, tenantId: string): Promise<Result<{ token: string; role: Role }>> {
    return this.acting(ctx, async (a) => {
      if (a.actor.kind !== "user") return fail({ code: "permission_denied", message: "Only console users get console principals." });
      return consolePrincipal(this.env, a.actor, tenantId, clockOf(this.env, ctx?.nowMs));
    });
  }

  /** A change another Worker made (providers, routes, prices, credentials), recorded by the gateway route that made it. */
  recordAudit(ctx: AuthCallContext, entry: AuditRecord): Promise<Result<true>> {
    const requestId = typeof ctx?.requestId === "string" ? ctx.requestId : undefined;
    return this.guard("audit", requestId, () => recordAudit(this.env, ctx, entry));
  }

  private async acting<T>(ctx: AuthCallContext, run: (acting: Acting) => Promise<Result<T>>): Promise<Result<T>> {
    const requestId = typeof ctx?.requestId === "string" ? ctx.requestId : undefined;
    return this.guard("admin", requestId, async () => {
      const acting = await resolveActor(this.env, ctx);
      if (!acting.ok) return acting;
      return run(acting.value);
    });
  }

  private async anonymous<T>(ctx: unknown, run: (requestId: string, nowMs: number) => Promise<Result<T>>): Promise<Result<T>> {
    const c = ctx as { requestId?: unknown; nowMs?: unknown } | null;
    const requestId = typeof c?.requestId === "string" && c.requestId.length <= 128 ? c.requestId : "unknown";
    return this.guard("users", requestId, () => run(requestId, clockOf(this.env, c?.nowMs)));
  }

  private async withSession<T>(
    ctx: AuthCallContext,
    run: (credential: SessionCredential, nowMs: number, requestId: string) => Promise<Result<T>>,
  ): Promise<Result<T>> {
    const requestId = typeof ctx?.requestId === "string" ? ctx.requestId : undefined;
    return this.guard("session", requestId, async () => {
      const parsed = AuthCallContextSchema.safeParse(ctx);
      if (!parsed.success || parsed.data.actor.type !== "session") return fail({ code: "invalid_session", message: "You are not signed in." });
      const { type: _type, ...credential } = parsed.data.actor;
      return run(credential, clockOf(this.env, parsed.data.nowMs), parsed.data.requestId);
    });
  }

  /** Unexpected failures become a 500 result; the message is logged with the request id, never returned. */
  private async guard<T>(op: string, requestId: string | undefined, run: () => Promise<Result<T>>): Promise<Result<T>> {
    try {
      return await run();
    } catch (err) {
      log.error("auth", "internal error", { op, requestId, message: errorMessage(err) });
      return fail({ code: "internal_error", message: "The auth service had an internal error. Quote the request id when reporting it." });
    }
  }
}

/**
 * The audit log for billing's own facts (budget and credit alerts): a separate entrypoint, so the
 * Worker bound to it (billing) can append its rows — always as `system:billing`, idempotent by its
 * `ref` — and do nothing else of auth's.
 */
export class BillingAudit extends WorkerEntrypoint<AuthEnv> {
  async record(input: unknown): Promise<Result<{ id: string; written: boolean }>> {
    try {
      return await recordBillingAudit(this.env, input);
    } catch (err) {
      log.error("auth", "internal error", { op: "billing-audit", message: errorMessage(err) });
      return fail({ code: "internal_error", message: "The auth service had an internal error." });
    }
  }
}

export default { fetch: privateWorkerFetch } satisfies ExportedHandler<AuthEnv>;
