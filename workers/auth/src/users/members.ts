import { fail, ok, validationError, type Result } from "../../../shared/src";
import { MemberUpdateSchema, can, type Member, type Role } from "../../../shared/src/contracts/users";
import { roleIn, type Acting } from "../admin/actor";
import { auditStatement } from "../admin/audit";
import { getTenantRow, tenantNotFound } from "../admin/tenants";

/**
 * A tenant's members (D1 `memberships`, migrations/auth/0005): every member reads the list; only
 * an owner (or an operator, or the admin token) changes a role or removes a member. A tenant never
 * loses its last owner: the change that would do it is refused (409) inside the same statement that
 * makes it, so two owners demoting each other at once cannot both succeed. Changes are audited
 * (`member.update`, `member.remove`). A member's sessions see the change on their next call (auth
 * reads the memberships of a session's user on every call).
 */
const MAX_MEMBERS = 500;
const USER_ID = /^usr_[A-Za-z0-9]{1,64}$/;

/** The actor's role in the tenant for a members operation: 404 when they cannot see the tenant. */
async function visibleTenant(env: AuthEnv, acting: Acting, tenantId: unknown): Promise<Result<{ tenantId: string; role: Role | "platform" }>> {
  if (typeof tenantId !== "string" || tenantId.length === 0 || tenantId.length > 64) return tenantNotFound(String(tenantId).slice(0, 64));
  const actor = acting.actor;
  if (actor.kind === "key") return fail({ code: "permission_denied", message: "API keys cannot manage members." });
  const role = actor.kind === "admin" ? "platform" : roleIn(actor, tenantId);
  const tenant = role === null ? null : await getTenantRow(env.AUTH_DB, tenantId);
  if (!tenant || tenant.status !== "active" || role === null) return tenantNotFound(tenantId);
  return ok({ tenantId, role });
}

export async function listMembers(env: AuthEnv, acting: Acting, tenantId: unknown): Promise<Result<{ object: "list"; data: Member[] }>> {
  const visible = await visibleTenant(env, acting, tenantId);
  if (!visible.ok) return visible;
  const { results } = await env.AUTH_DB.prepare(
    `SELECT m.user_id, u.email, u.name, m.role, m.created_at FROM memberships m JOIN users u ON u.id = m.user_id
      WHERE m.tenant_id = ?1 ORDER BY m.created_at, m.user_id LIMIT ${MAX_MEMBERS}`,
  )
    .bind(visible.value.tenantId)
    .all<Omit<Member, "object">>();
  return ok({ object: "list", data: results.map((r) => ({ object: "member", ...r })) });
}

async function mayManage(env: AuthEnv, acting: Acting, tenantId: unknown, userId: unknown): Promise<Result<{ tenantId: string; userId: string; role: Role }>> {
  const visible = await visibleTenant(env, acting, tenantId);
  if (!visible.ok) return visible;
  const { role } = visible.value;
  if (role !== "platform" && !can(role, "manageMembers")) {
    return fail({ code: "permission_denied", message: `Your role in this tenant (${role}) cannot change members.` });
  }
  const current =
    typeof userId === "string" && USER_ID.test(userId)
      ? await env.AUTH_DB.prepare("SELECT role FROM memberships WHERE tenant_id = ?1 AND user_id = ?2")
          .bind(visible.value.tenantId, userId)
          .first<{ role: Role }>()
      : null;
  if (!current) return fail({ code: "not_found", message: "No such member of this tenant.", param: "user_id" });
  return ok({ tenantId: visible.value.tenantId, userId: userId as string, role: current.role });
}

const LAST_OWNER = () => fail({ code: "conflict", message: "A tenant keeps at least one owner: make someone else an owner first." });
/** True when the row may stop being an owner: it is not one, or another owner remains. */
const KEEPS_AN_OWNER = "(role <> 'owner' OR (SELECT COUNT(*) FROM memberships o WHERE o.tenant_id = ?1 AND o.role = 'owner') > 1)";

export async function updateMember(env: AuthEnv, acting: Acting, tenantId: unknown, userId: unknown, input: unknown, nowSec: number): Promise<Result<Member>> {
  const target = await mayManage(env, acting, tenantId, userId);
  if (!target.ok) return target;
  const parsed = MemberUpdateSchema.safeParse(input);
  if (!parsed.success) return fail(validationError(parsed.error));
  const { role } = parsed.data;
  const db = env.AUTH_DB;
  const changed = await db
    .prepare(`UPDATE memberships SET role = ?3 WHERE tenant_id = ?1 AND user_id = ?2 AND (?3 = 'owner' OR ${KEEPS_AN_OWNER})`)
    .bind(target.value.tenantId, target.value.userId, role)
    .run();
  if (changed.meta.changes !== 1) return LAST_OWNER();
  await auditStatement(
    db,
    acting,
    {
      action: "member.update",
      tenantId: target.value.tenantId,
      targetType: "user",
      targetId: target.value.userId,
      details: { role, previous_role: target.value.role },
    },
    nowSec,
  ).run();
  const list = await listMembers(env, acting, target.value.tenantId);
  const member = list.ok ? list.value.data.find((m) => m.user_id === target.value.userId) : undefined;
  return member ? ok(member) : fail({ code: "not_found", message: "No such member of this tenant.", param: "user_id" });
}

export async function removeMember(
  env: AuthEnv,
  acting: Acting,
  tenantId: unknown,
  userId: unknown,
  nowSec: number,
): Promise<Result<{ object: "member"; user_id: string; deleted: true }>> {
  const target = await mayManage(env, acting, tenantId, userId);
  if (!target.ok) return target;
  const db = env.AUTH_DB;
  const removed = await db
    .prepare(`DELETE FROM memberships WHERE tenant_id = ?1 AND user_id = ?2 AND ${KEEPS_AN_OWNER}`)
    .bind(target.value.tenantId, target.value.userId)
    .run();
  if (removed.meta.changes !== 1) return LAST_OWNER();
  await auditStatement(
    db,
    acting,
    {
      action: "member.remove",
      tenantId: target.value.tenantId,
      targetType: "user",
      targetId: target.value.userId,
      details: { previous_role: target.value.role },
    },
    nowSec,
  ).run();
  return ok({ object: "member", user_id: target.value.userId, deleted: true });
}
