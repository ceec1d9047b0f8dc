import { z } from "zod";

/**
 * People and the console (auth Worker, `workers/auth/src/users`): users with a role in tenants,
 * platform operators, invites, sessions. Inputs are validated by the gateway's console routes and
 * again by auth, the callee.
 */

/** A member's role in a tenant, weakest last. */
export const ROLES = ["owner", "admin", "developer", "viewer"] as const;
export const RoleSchema = z.enum(ROLES);
export type Role = z.infer<typeof RoleSchema>;

/** What each role may do. Enforced by auth (keys) and the gateway's console routes, never by the page. */
export const ROLE_CAN = {
  /** Create keys and revoke/rotate the keys one created. */
  createKeys: ["owner", "admin", "developer"],
  /** Manage every key of the tenant, and its providers and routes. */
  manageTenantKeys: ["owner", "admin"],
  /** Invite members. */
  invite: ["owner"],
  /** Change a member's role, or remove a member. */
  manageMembers: ["owner"],
} as const satisfies Record<string, readonly Role[]>;

export const can = (role: Role | null, what: keyof typeof ROLE_CAN): boolean => role !== null && (ROLE_CAN[what] as readonly Role[]).includes(role);

export const MAX_EMAIL_LENGTH = 254;
export const MIN_PASSWORD_LENGTH = 12;
/** PBKDF2 hashes any length, but an unbounded password is unbounded work per attempt. */
export const MAX_PASSWORD_LENGTH = 256;

const Email = z
  .string()
  .trim()
  .toLowerCase()
  .max(MAX_EMAIL_LENGTH)
  .regex(/^[^\s@]+@[^\s@]+$/, "must be an email address");
const Password = z.string().min(MIN_PASSWORD_LENGTH).max(MAX_PASSWORD_LENGTH);
/** Sign-in checks any length up to the bound: a too-short password is just a wrong one. */
const AnyPassword = z.string().min(1).max(MAX_PASSWORD_LENGTH);
const Name = z.string().trim().min(1).max(128);

export const LoginSchema = z.object({ email: Email, password: AnyPassword }).strict();
export type Login = z.infer<typeof LoginSchema>;

/** POST /admin/operators: the admin token creates a platform operator (the first one, typically). */
export const OperatorCreateSchema = z.object({ email: Email, name: Name, password: Password }).strict();
export type OperatorCreate = z.infer<typeof OperatorCreateSchema>;

/** An invite: into a tenant with a role, or (tenant_id absent, operators only) to become an operator. */
export const InviteCreateSchema = z
  .object({
    email: Email,
    tenant_id: z.string().min(1).max(64).optional(),
    role: z.union([RoleSchema, z.literal("operator")]),
    /** Seconds the link stays valid: default 7 days, at most 30. */
    expires_in: z
      .number()
      .int()
      .min(60)
      .max(30 * 86_400)
      .optional(),
  })
  .strict()
  .refine((i) => (i.role === "operator") === (i.tenant_id === undefined), {
    message: "an operator invite has no tenant_id; every other role needs one",
    path: ["tenant_id"],
  });
export type InviteCreate = z.infer<typeof InviteCreateSchema>;

export const DEFAULT_INVITE_SECONDS = 7 * 86_400;
export const InviteTokenSchema = z.string().regex(/^inv_[A-Za-z0-9]{43}$/, "must be an invite token");

export const InviteAcceptSchema = z.object({ token: InviteTokenSchema, name: Name, password: Password }).strict();
export type InviteAccept = z.infer<typeof InviteAcceptSchema>;

export interface Membership {
  tenant_id: string;
  tenant_name: string;
  role: Role;
}

export interface ConsoleUser {
  id: string;
  object: "user";
  email: string;
  name: string;
  operator: boolean;
  memberships: Membership[];
}

/** What a signed-in console sees of its session (never the session token: that stays in the HttpOnly cookie). */
export interface ConsoleSession {
  user: ConsoleUser;
  csrf_token: string;
  expires_at: number;
}

/** auth's answer to a sign-in or a session check: the session, and a fresh token for the cookie when it was (re)issued. */
export interface SessionGrant {
  session: ConsoleSession;
  /** Set when the cookie must be (re)written: sign-in, or rotation of an ageing token. */
  token: { value: string; maxAgeSeconds: number } | null;
}

export interface CreatedInvite {
  id: string;
  object: "invite";
  email: string;
  tenant_id: string | null;
  role: Role | "operator";
  expires_at: number;
  /** The secret of the link, shown only here. */
  token: string;
}

/** The console's sign-in request as the gateway passes it on: the client's address keys one of the two throttles. */
export const LoginAttemptSchema = z
  .object({
    email: z.unknown(),
    password: z.unknown(),
    address: z.string().min(1).max(64),
  })
  .strict();

/** A session as the gateway presents it to auth: the cookie's token, and the CSRF header on a state-changing call. */
export const SessionCredentialSchema = z.object({
  token: z.string().min(1).max(4096),
  /** `x-csrf-token` of a state-changing request; null for a safe (GET) one. */
  csrf: z.string().max(256).nullable(),
  changing: z.boolean(),
});
export type SessionCredential = z.infer<typeof SessionCredentialSchema>;

/** A tenant's member as the console lists them (`GET /console/api/tenants/{id}/members`). */
export interface Member {
  object: "member";
  user_id: string;
  email: string;
  name: string;
  role: Role;
  created_at: number;
}

/** `PATCH /console/api/tenants/{id}/members/{user_id}`: a member's new role. */
export const MemberUpdateSchema = z.object({ role: RoleSchema }).strict();
