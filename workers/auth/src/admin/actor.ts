import { fail, ok, validationError, verifyAdminContext, type Budget, type Limits, type Result, type Scope } from "../../../shared/src";
import { AuthCallContextSchema } from "../../../shared/src/contracts/auth";
import { publicJwkOf, verifyPrincipalToken } from "../../../shared/src/principal-token";
import type { Role } from "../../../shared/src/contracts/users";
import { keyStatus, nowSeconds, parseJson, type ApiKeyRow } from "../db/rows";
import { clockOf } from "../users/clock";
import { sessionUser } from "../users/users";

/**
 * Who is acting on an admin operation. `admin` is the platform operator: the gateway checked the
 * admin token and says so with its signed admin context, verified here. `key` is a tenant managing its own keys with a `keys:write` key: established from
 * its principal token (signed by auth, verified here) and re-checked against D1, so a key revoked
 * a moment ago cannot act even while its token is still unexpired.
 */
export type Actor =
  | { kind: "admin"; label: "admin" }
  | UserActor
  | {
      kind: "key";
      label: string;
      tenantId: string;
      keyId: string;
      scopes: Scope[];
      models: string[] | null;
      limits: Limits;
      budget: Budget;
      expiresAt: number | null;
    };

/**
 * A console user, from a live session (users/session.ts): a platform operator acts on every tenant
 * (as an owner would), anyone else in the tenants they are a member of, with their role there.
 */
export interface UserActor {
  kind: "user";
  label: string;
  userId: string;
  operator: boolean;
  roles: Record<string, Role>;
}

/** The user's role in a tenant (an operator's is `owner` everywhere); null = not a member. */
export function roleIn(actor: UserActor, tenantId: string): Role | null {
  if (actor.operator) return "owner";
  return Object.hasOwn(actor.roles, tenantId) ? actor.roles[tenantId]! : null;
}

export interface Acting {
  actor: Actor;
  requestId: string;
}

let verifyJwk: { signing: string; verify: string } | undefined;
function verifyJwkOf(env: AuthEnv): string {
  if (verifyJwk?.signing !== env.PRINCIPAL_SIGNING_JWK) {
    verifyJwk = { signing: env.PRINCIPAL_SIGNING_JWK, verify: publicJwkOf(env.PRINCIPAL_SIGNING_JWK) };
  }
  return verifyJwk.verify;
}

export async function resolveActor(env: AuthEnv, context: unknown): Promise<Result<Acting>> {
  const parsed = AuthCallContextSchema.safeParse(context);
  if (!parsed.success) return fail(validationError(parsed.error));
  const { requestId, actor } = parsed.data;
  if (actor.type === "admin") {
    const admin = await verifyAdminContext(actor.token, env.GATEWAY_VERIFY_JWK);
    return admin.ok ? ok({ requestId, actor: { kind: "admin", label: "admin" } }) : admin;
  }
  if (actor.type === "session") {
    const user = await sessionUser(env, actor, clockOf(env, parsed.data.nowMs));
    return user.ok ? ok({ requestId, actor: user.value }) : user;
  }

  const claims = await verifyPrincipalToken(actor.token, verifyJwkOf(env));
  if (!claims.ok) return claims;
  const row = await env.AUTH_DB.prepare(`SELECT k.*, t.status AS tenant_status FROM api_keys k JOIN tenants t ON t.id = k.tenant_id WHERE k.id = ?1`)
    .bind(claims.value.keyId)
    .first<ApiKeyRow & { tenant_status: string }>();
  if (!row || row.tenant_id !== claims.value.tenantId || row.tenant_status !== "active" || keyStatus(row, nowSeconds()) !== "active") {
    return fail({ code: "invalid_api_key", message: "This API key is no longer valid." });
  }
  const scopes = parseJson<Scope[]>(row.scopes, []);
  if (!scopes.includes("keys:write")) {
    return fail({ code: "permission_denied", message: "This API key does not have the 'keys:write' scope required to manage keys." });
  }
  return ok({
    requestId,
    actor: {
      kind: "key",
      label: `key:${row.id}`,
      tenantId: row.tenant_id,
      keyId: row.id,
      scopes,
      models: parseJson<string[] | null>(row.models, null),
      limits: parseJson<Limits>(row.limits, {}),
      budget: parseJson<Budget>(row.budget, {}),
      expiresAt: row.expires_at,
    },
  });
}

/**
 * Who performed a change that another Worker made and authorised (providers, routes, prices,
 * credentials), for its audit row: the admin, or the key named by a principal token auth signed,
 * with that key's tenant. Identity only: the owner of the change already checked the permission,
 * and the key may have been revoked since (its row still names it).
 */
export async function identifyActor(env: AuthEnv, context: unknown): Promise<Result<{ requestId: string; actor: { label: string }; tenantId: string | null }>> {
  const parsed = AuthCallContextSchema.safeParse(context);
  if (!parsed.success) return fail(validationError(parsed.error));
  const { requestId, actor } = parsed.data;
  if (actor.type === "admin") {
    const admin = await verifyAdminContext(actor.token, env.GATEWAY_VERIFY_JWK);
    return admin.ok ? ok({ requestId, actor: { label: "admin" }, tenantId: null }) : admin;
  }
  if (actor.type === "session") {
    const user = await sessionUser(env, actor, clockOf(env, parsed.data.nowMs));
    return user.ok ? ok({ requestId, actor: { label: user.value.label }, tenantId: null }) : user;
  }
  const claims = await verifyPrincipalToken(actor.token, verifyJwkOf(env));
  if (!claims.ok) return claims;
  return ok({ requestId, actor: { label: `key:${claims.value.keyId}` }, tenantId: claims.value.tenantId });
}

/** Operations on tenants themselves are the platform operator's alone (the admin token, or an operator user). */
export function requireAdmin(actor: Actor): Result<true> {
  if (actor.kind === "admin" || (actor.kind === "user" && actor.operator)) return ok(true);
  return fail({ code: "permission_denied", message: "Only the platform admin can manage tenants." });
}
