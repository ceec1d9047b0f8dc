import { fail, hashApiKey, newId, ok, randomBase62, validationError, type Result } from "../../../shared/src";
import {
  DEFAULT_INVITE_SECONDS,
  InviteAcceptSchema,
  InviteCreateSchema,
  LoginAttemptSchema,
  LoginSchema,
  OperatorCreateSchema,
  can,
  type ConsoleSession,
  type ConsoleUser,
  type CreatedInvite,
  type Membership,
  type Role,
  type SessionCredential,
  type SessionGrant,
} from "../../../shared/src/contracts/users";
import { signPrincipalToken } from "../../../shared/src/principal-token";
import type { Acting, UserActor } from "../admin/actor";
import { auditStatement } from "../admin/audit";
import { getTenantRow, tenantNotFound } from "../admin/tenants";
import { hashPassword, needsRehash, verifyPassword } from "./password";
import { INVALID_SESSION, ROTATE_AFTER_SECONDS, insertSession, liveSession, newSessionRow, revokeSession, signSessionToken, type SessionRow } from "./session";
import { blockedFor, clearAccount, recordFailure, subjectsOf } from "./throttle";

/**
 * Users, memberships, operators, invites and sign-in (D1 `auth`, migrations/auth/0005). Passwords
 * never leave this file except as PBKDF2 hashes (./password.ts); invite secrets are stored as
 * SHA-256; no password, hash, invite or session token is ever written to the audit log or a log line.
 */

interface UserRow {
  id: string;
  email: string;
  name: string;
  password_hash: string;
  is_operator: number;
  status: "active" | "disabled";
  created_at: number;
  updated_at: number;
}

const seconds = (ms: number) => Math.floor(ms / 1000);

async function membershipsOf(db: D1Database, userId: string): Promise<Membership[]> {
  const { results } = await db
    .prepare(
      `SELECT m.tenant_id, t.name AS tenant_name, m.role FROM memberships m JOIN tenants t ON t.id = m.tenant_id
        WHERE m.user_id = ?1 AND t.status = 'active' ORDER BY t.name, m.tenant_id LIMIT 200`,
    )
    .bind(userId)
    .all<Membership>();
  return results;
}

function consoleUser(row: UserRow, memberships: Membership[]): ConsoleUser {
  return { id: row.id, object: "user", email: row.email, name: row.name, operator: row.is_operator === 1, memberships };
}

function actorOf(row: UserRow, memberships: Membership[]): UserActor {
  return {
    kind: "user",
    label: `user:${row.id}`,
    userId: row.id,
    operator: row.is_operator === 1,
    roles: Object.fromEntries(memberships.map((m) => [m.tenant_id, m.role])),
  };
}

async function activeUser(db: D1Database, userId: string): Promise<UserRow | null> {
  const row = await db.prepare("SELECT * FROM users WHERE id = ?1").bind(userId).first<UserRow>();
  return row && row.status === "active" ? row : null;
}

/** The user behind a live session (every console call): 401 for anything but a live session of an active user. */
export async function sessionUser(env: AuthEnv, credential: SessionCredential, nowMs: number): Promise<Result<UserActor>> {
  const live = await liveSession(env, credential, nowMs);
  if (!live.ok) return live;
  const row = await activeUser(env.AUTH_DB, live.value.row.user_id);
  if (!row) return fail({ ...INVALID_SESSION });
  return ok(actorOf(row, await membershipsOf(env.AUTH_DB, row.id)));
}

async function grantFor(env: AuthEnv, user: UserRow, session: SessionRow, nowMs: number, rotate: boolean): Promise<SessionGrant> {
  const body: ConsoleSession = { user: consoleUser(user, await membershipsOf(env.AUTH_DB, user.id)), csrf_token: session.csrf, expires_at: session.expires_at };
  return { session: body, token: rotate ? await signSessionToken(env, session, nowMs) : null };
}

/**
 * A session check (GET /console/api/session and every console call): the session and user, and a
 * rotated token when the cookie's is older than ROTATE_AFTER_SECONDS.
 */
export async function checkSession(env: AuthEnv, credential: SessionCredential, nowMs: number): Promise<Result<SessionGrant>> {
  const live = await liveSession(env, credential, nowMs);
  if (!live.ok) return live;
  const user = await activeUser(env.AUTH_DB, live.value.row.user_id);
  if (!user) return fail({ ...INVALID_SESSION });
  return ok(await grantFor(env, user, live.value.row, nowMs, seconds(nowMs) - live.value.issuedAt >= ROTATE_AFTER_SECONDS));
}

const BAD_CREDENTIALS = { code: "invalid_credentials", message: "Incorrect email or password." } as const;

function slowDown(ms: number): Result<never> {
  const secs = Math.max(1, Math.ceil(ms / 1000));
  return fail({
    code: "rate_limit_exceeded",
    message: `Too many failed sign-ins for this account or address. Try again in ${secs} s.`,
    headers: { "retry-after": String(secs) },
  });
}

/**
 * Sign-in: refused while the account or the address is slowed down (429, not counted again); an
 * unknown email and a wrong password are one answer (401) at one cost (a decoy hash is verified);
 * a failure is counted for both subjects. Success opens a new session (a fresh id: no fixation).
 */
export async function login(env: AuthEnv, attempt: unknown, nowMs: number, requestId: string): Promise<Result<SessionGrant>> {
  const outer = LoginAttemptSchema.safeParse(attempt);
  if (!outer.success) return fail(validationError(outer.error));
  const parsed = LoginSchema.safeParse({ email: outer.data.email, password: outer.data.password });
  if (!parsed.success) return fail(validationError(parsed.error));
  const { email, password } = parsed.data;
  const db = env.AUTH_DB;
  const subjects = await subjectsOf(email, outer.data.address);
  const blocked = await blockedFor(db, subjects, nowMs);
  if (blocked > 0) return slowDown(blocked);

  const user = await db.prepare("SELECT * FROM users WHERE email = ?1").bind(email).first<UserRow>();
  const matches = await verifyPassword(password, user?.password_hash ?? null);
  if (!user || !matches || user.status !== "active") {
    // Counted for both subjects; this attempt's answer is the truth (401), the next one waits.
    await recordFailure(db, subjects, nowMs);
    return fail({ ...BAD_CREDENTIALS });
  }
  await clearAccount(db, subjects);
  const session = newSessionRow(user.id, seconds(nowMs));
  const statements = [insertSession(db, session)];
  if (needsRehash(user.password_hash)) {
    statements.push(
      db.prepare("UPDATE users SET password_hash = ?2, updated_at = ?3 WHERE id = ?1").bind(user.id, await hashPassword(password), seconds(nowMs)),
    );
  }
  statements.push(
    auditStatement(
      db,
      { actor: { label: `user:${user.id}` }, requestId },
      { action: "session.create", tenantId: null, targetType: "user", targetId: user.id },
      seconds(nowMs),
    ),
  );
  await db.batch(statements);
  return ok(await grantFor(env, user, session, nowMs, true));
}

/** Logout: the session row is revoked, so every token of it (this cookie and any copy) is refused from now on. */
export async function logout(env: AuthEnv, credential: SessionCredential, nowMs: number, requestId: string): Promise<Result<true>> {
  const live = await liveSession(env, credential, nowMs);
  if (!live.ok) return live;
  await revokeSession(env.AUTH_DB, live.value.row.id, seconds(nowMs));
  await auditStatement(
    env.AUTH_DB,
    { actor: { label: `user:${live.value.row.user_id}` }, requestId },
    { action: "session.revoke", tenantId: null, targetType: "user", targetId: live.value.row.user_id },
    seconds(nowMs),
  ).run();
  return ok(true);
}

/** POST /admin/operators: a platform operator, created by the admin token (the bootstrap of the console). */
export async function createOperator(env: AuthEnv, acting: Acting, input: unknown, nowMs: number): Promise<Result<ConsoleUser>> {
  if (acting.actor.kind !== "admin")
    return fail({ code: "permission_denied", message: "Only the admin token creates operators directly; operators invite others." });
  const parsed = OperatorCreateSchema.safeParse(input);
  if (!parsed.success) return fail(validationError(parsed.error));
  const { email, name, password } = parsed.data;
  const exists = await env.AUTH_DB.prepare("SELECT id FROM users WHERE email = ?1").bind(email).first();
  if (exists) return fail({ code: "conflict", message: "A user with this email already exists.", param: "email" });
  const now = seconds(nowMs);
  const row: UserRow = {
    id: newId("usr"),
    email,
    name,
    password_hash: await hashPassword(password),
    is_operator: 1,
    status: "active",
    created_at: now,
    updated_at: now,
  };
  await env.AUTH_DB.batch([
    env.AUTH_DB.prepare(
      "INSERT INTO users (id, email, name, password_hash, is_operator, status, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, 1, 'active', ?5, ?5)",
    ).bind(row.id, email, name, row.password_hash, now),
    auditStatement(env.AUTH_DB, acting, { action: "operator.create", tenantId: null, targetType: "user", targetId: row.id, details: { email, name } }, now),
  ]);
  return ok(consoleUser(row, []));
}

/**
 * An invite link: into a tenant with a role (the admin token, an operator, or the tenant's owner),
 * or to become an operator (the admin token or an operator). The secret is returned once and
 * stored as SHA-256.
 */
export async function createInvite(env: AuthEnv, acting: Acting, input: unknown, nowMs: number): Promise<Result<CreatedInvite>> {
  const parsed = InviteCreateSchema.safeParse(input);
  if (!parsed.success) return fail(validationError(parsed.error));
  const { email, role, tenant_id: tenantId } = parsed.data;
  const actor = acting.actor;
  if (actor.kind === "key") return fail({ code: "permission_denied", message: "API keys cannot invite people." });
  if (tenantId === undefined) {
    if (actor.kind === "user" && !actor.operator) return fail({ code: "permission_denied", message: "Only operators can invite operators." });
  } else {
    if (actor.kind === "user") {
      const role = actor.operator ? "owner" : (actor.roles[tenantId] ?? null);
      if (role === null) return tenantNotFound(tenantId);
      if (!can(role, "invite")) return fail({ code: "permission_denied", message: `Your role in this tenant (${role}) cannot invite members.` });
    }
    const tenant = await getTenantRow(env.AUTH_DB, tenantId);
    if (!tenant || tenant.status !== "active") return tenantNotFound(tenantId);
  }
  const now = seconds(nowMs);
  const token = `inv_${randomBase62(43)}`;
  const invite: CreatedInvite = {
    id: newId("inv"),
    object: "invite",
    email,
    tenant_id: tenantId ?? null,
    role,
    expires_at: now + (parsed.data.expires_in ?? DEFAULT_INVITE_SECONDS),
    token,
  };
  await env.AUTH_DB.batch([
    env.AUTH_DB.prepare(
      "INSERT INTO invites (id, token_hash, tenant_id, email, role, created_by, created_at, expires_at) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
    ).bind(invite.id, await hashApiKey(token), invite.tenant_id, email, role, actor.label, now, invite.expires_at),
    auditStatement(
      env.AUTH_DB,
      acting,
      {
        action: "invite.create",
        tenantId: invite.tenant_id,
        targetType: "invite",
        targetId: invite.id,
        details: { email, role, expires_at: invite.expires_at },
      },
      now,
    ),
  ]);
  return ok(invite);
}

interface InviteRow {
  id: string;
  tenant_id: string | null;
  email: string;
  role: Role | "operator";
  expires_at: number;
  used_at: number | null;
}

const INVITE_GONE = (why: string) => fail({ code: "invite_unavailable", message: `This invite link ${why}. Ask for a new one.` });

/**
 * Accepting an invite: a new user (or an existing one, who proves it with their password) joins
 * with the invite's role and is signed in. Single use: the invite is marked used by the same D1
 * batch that adds the user and membership, and that batch adds nothing unless its own update won
 * (`used_by` = this user), so two concurrent acceptances cannot both join.
 */
export async function acceptInvite(env: AuthEnv, input: unknown, nowMs: number, requestId: string): Promise<Result<SessionGrant>> {
  const parsed = InviteAcceptSchema.safeParse(input);
  if (!parsed.success) return fail(validationError(parsed.error));
  const db = env.AUTH_DB;
  const now = seconds(nowMs);
  const invite = await db
    .prepare("SELECT * FROM invites WHERE token_hash = ?1")
    .bind(await hashApiKey(parsed.data.token))
    .first<InviteRow>();
  if (!invite) return fail({ code: "not_found", message: "No such invite.", param: "token" });
  if (invite.used_at !== null) return INVITE_GONE("was already used");
  if (invite.expires_at <= now) return INVITE_GONE("has expired");

  const existing = await db.prepare("SELECT * FROM users WHERE email = ?1").bind(invite.email).first<UserRow>();
  if (existing && !(await verifyPassword(parsed.data.password, existing.password_hash))) {
    return fail({ ...BAD_CREDENTIALS, message: "This email already has an account: enter its password to accept the invite." });
  }
  const userId = existing?.id ?? newId("usr");
  const operator = invite.role === "operator";
  const statements: D1PreparedStatement[] = [
    db.prepare("UPDATE invites SET used_at = ?2, used_by = ?3 WHERE id = ?1 AND used_at IS NULL AND expires_at > ?2").bind(invite.id, now, userId),
  ];
  const won = "EXISTS (SELECT 1 FROM invites WHERE id = ?1 AND used_by = ?2 AND used_at = ?3)";
  if (!existing) {
    statements.push(
      db
        .prepare(
          `INSERT INTO users (id, email, name, password_hash, is_operator, status, created_at, updated_at)
           SELECT ?2, ?4, ?5, ?6, ?7, 'active', ?3, ?3 WHERE ${won}`,
        )
        .bind(invite.id, userId, now, invite.email, parsed.data.name, await hashPassword(parsed.data.password), operator ? 1 : 0),
    );
  } else if (operator) {
    statements.push(db.prepare(`UPDATE users SET is_operator = 1, updated_at = ?3 WHERE id = ?2 AND ${won}`).bind(invite.id, userId, now));
  }
  if (!operator) {
    statements.push(
      db
        .prepare(
          `INSERT INTO memberships (user_id, tenant_id, role, created_at) SELECT ?2, ?4, ?5, ?3 WHERE ${won}
           ON CONFLICT (user_id, tenant_id) DO UPDATE SET role = excluded.role`,
        )
        .bind(invite.id, userId, now, invite.tenant_id, invite.role),
    );
  }
  const session = newSessionRow(userId, now);
  statements.push(
    db
      .prepare(`INSERT INTO sessions (id, user_id, csrf, created_at, expires_at) SELECT ?4, ?2, ?5, ?3, ?6 WHERE ${won}`)
      .bind(invite.id, userId, now, session.id, session.csrf, session.expires_at),
    auditStatement(
      db,
      { actor: { label: `user:${userId}` }, requestId },
      { action: "invite.accept", tenantId: invite.tenant_id, targetType: "invite", targetId: invite.id, details: { role: invite.role, new_user: !existing } },
      now,
    ),
  );
  const results = await db.batch(statements);
  if (results[0]!.meta.changes !== 1) {
    // Lost a race with another acceptance (or the link expired meanwhile): nothing else was written but the audit row.
    return INVITE_GONE("was already used");
  }
  const user = await activeUser(db, userId);
  if (!user) return fail({ code: "permission_denied", message: "This account is disabled." });
  return ok(await grantFor(env, user, session, nowMs, true));
}

/** What a console user may read through the other Workers' APIs: read-only scopes, whatever the role. */
const CONSOLE_READ_SCOPES = ["usage:read", "providers:read", "webhooks:read"] as const;

/**
 * A principal token for a console user reading one tenant (usage from billing, providers from
 * model-proxy): signed by auth like a key's, naming the user (`sub` = `user:<id>`) and read-only
 * scopes, for a tenant the user is a member of (an operator: any active tenant). 404 otherwise.
 */
export async function consolePrincipal(env: AuthEnv, actor: UserActor, tenantId: unknown, nowMs: number): Promise<Result<{ token: string; role: Role }>> {
  if (typeof tenantId !== "string" || tenantId.length === 0 || tenantId.length > 64)
    return fail({ code: "invalid_request", message: "tenant_id is required.", param: "tenant_id" });
  const role = actor.operator ? "owner" : (actor.roles[tenantId] ?? null);
  const tenant = role === null ? null : await getTenantRow(env.AUTH_DB, tenantId);
  if (!tenant || tenant.status !== "active" || role === null) return tenantNotFound(tenantId);
  const signed = await signPrincipalToken({ tenantId, keyId: actor.label, scopes: [...CONSOLE_READ_SCOPES] }, env.PRINCIPAL_SIGNING_JWK, nowMs);
  return ok({ token: signed.token, role });
}
