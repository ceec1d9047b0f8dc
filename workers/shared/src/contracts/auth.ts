import { z } from "zod";
import { ActorSchema, type Actor } from "./actor";
import { SessionCredentialSchema, type SessionCredential } from "./users";
import { BudgetSchema, LimitsSchema, ScopeSchema, SCOPES, type Scope } from "./principal";

/**
 * The auth Worker's admin contract: input schemas (validated by the gateway's routes and again by
 * auth, the callee), output shapes, and the RPC call context. Times are unix seconds, like
 * OpenAI's `created_at`.
 */

/**
 * Scopes a key gets when none are given: everything except the administrative ones. Managing keys
 * (`keys:write`) and changing the tenant's providers and routes (`providers:write`: where its
 * traffic and credentials go) are opted into explicitly, so a key minted for an app cannot
 * redirect the tenant's traffic. So is registering webhook endpoints (`webhooks:write`: where the
 * tenant's events are sent); listing them (`webhooks:read`, never a secret) is a default.
 */
const OPT_IN_SCOPES: readonly Scope[] = ["keys:write", "providers:write", "webhooks:write"];
export const DEFAULT_KEY_SCOPES: Scope[] = SCOPES.filter((s) => !OPT_IN_SCOPES.includes(s));

export const MAX_NAME_LENGTH = 128;
export const MAX_MODEL_PATTERNS = 100;
export const MAX_GRACE_PERIOD_SECONDS = 7 * 24 * 3600;
export const DEFAULT_GRACE_PERIOD_SECONDS = 3600;

const Name = z.string().trim().min(1).max(MAX_NAME_LENGTH);
const ModelPattern = z
  .string()
  .min(1)
  .max(256)
  .regex(/^[^\s]+$/, "must not contain whitespace");
const UnixSeconds = z.number().int().positive();

/** At most this many browser origins per tenant (CORS), each at most this long. */
export const MAX_CORS_ORIGINS = 20;
export const MAX_CORS_ORIGIN_CHARS = 256;
const HOST_LABEL = "[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?";
const ORIGIN = new RegExp(`^https://${HOST_LABEL}(?:\\.${HOST_LABEL})*(?::([1-9][0-9]{0,4}))?$`, "i");

/**
 * One exact browser origin a tenant's keys may be used from (CORS): `https://host[:port]` — no
 * path, no trailing slash, no wildcard, never `http` (a page that holds a key must at least be
 * served over TLS). Compared as browsers send it, lowercase.
 */
export const CorsOriginSchema = z
  .string()
  .max(MAX_CORS_ORIGIN_CHARS)
  .regex(ORIGIN, "must be an exact origin https://host[:port], without path or wildcard")
  .refine((o) => Number(ORIGIN.exec(o)?.[1] ?? 443) <= 65535, "has a port above 65535")
  .transform((o) => o.toLowerCase());

export const CorsOriginsSchema = z
  .array(CorsOriginSchema)
  .max(MAX_CORS_ORIGINS)
  .refine((list) => new Set(list).size === list.length, "must not repeat an origin")
  .describe(
    `Browser origins whose pages may use this tenant's keys (CORS), at most ${MAX_CORS_ORIGINS}, each \`https://host[:port]\`. ` +
      'Honoured when the gateway runs with `CORS_TENANT_ORIGINS = "true"`; `[]` = none.',
  );

export const TenantCreateSchema = z
  .object({
    name: Name,
    limits: LimitsSchema.optional(),
    budget: BudgetSchema.optional(),
    cors_origins: CorsOriginsSchema.optional(),
  })
  .strict();
export type TenantCreate = z.infer<typeof TenantCreateSchema>;

/** PATCH: fields present replace; inside `limits`/`budget`, each axis given is set (`null` clears it). */
export const TenantUpdateSchema = z
  .object({
    name: Name.optional(),
    limits: LimitsSchema.optional(),
    budget: BudgetSchema.optional(),
    /** Replaces the list (`[]` clears it). */
    cors_origins: CorsOriginsSchema.optional(),
  })
  .strict();
export type TenantUpdate = z.infer<typeof TenantUpdateSchema>;

const keyFields = {
  name: Name.nullable().optional(),
  scopes: z
    .array(ScopeSchema)
    .max(SCOPES.length * 2)
    .optional(),
  /** Model globs (`*` wildcard); `null` = every model. */
  models: z.array(ModelPattern).min(1).max(MAX_MODEL_PATTERNS).nullable().optional(),
  /** Unix seconds; must be in the future. `null` = never expires. */
  expires_at: UnixSeconds.nullable().optional(),
  limits: LimitsSchema.optional(),
  budget: BudgetSchema.optional(),
};

export const KeyCreateSchema = z.object(keyFields).strict();
export type KeyCreate = z.infer<typeof KeyCreateSchema>;

export const KeyUpdateSchema = z.object(keyFields).strict();
export type KeyUpdate = z.infer<typeof KeyUpdateSchema>;

export const KeyRotateSchema = z
  .object({
    /** How long the previous secret keeps working (0 = it stops at once). Default one hour. */
    grace_period_seconds: z.number().int().min(0).max(MAX_GRACE_PERIOD_SECONDS).optional(),
  })
  .strict();
export type KeyRotate = z.infer<typeof KeyRotateSchema>;

export const ListQuerySchema = z
  .object({
    limit: z.coerce.number().int().min(1).max(100).optional(),
    /** Cursor: the `last_id` of the previous page. */
    after: z.string().min(1).max(64).optional(),
  })
  .strict();
export type ListQuery = z.infer<typeof ListQuerySchema>;

/**
 * A change another Worker made (model-proxy's providers and routes, billing's prices, the secrets
 * Worker's master-key re-wrap), recorded in auth's audit log by the gateway route that performed
 * it. auth sets the actor, tenant and time itself; the caller names only what changed. `details`
 * hold names, ids and numbers: never a credential (the gateway never passes an `api_key` value).
 */
export const AUDITED_TARGETS = ["provider", "route", "price", "credentials", "invoice", "credits", "budget"] as const;
const AuditDetailValue = z.union([z.string().max(2048), z.number(), z.boolean(), z.null(), z.array(z.string().max(512)).max(64)]);
export const AuditRecordSchema = z
  .object({
    action: z
      .string()
      .regex(/^[a-z_]+\.[a-z_]+$/, "must be <object>.<verb>")
      .max(64),
    target_type: z.enum(AUDITED_TARGETS),
    target_id: z.string().min(1).max(256),
    details: z
      .record(z.string().max(64), AuditDetailValue)
      .refine((d) => Object.keys(d).length <= 32, "at most 32 details")
      .optional(),
  })
  .strict();
export type AuditRecord = z.infer<typeof AuditRecordSchema>;

/**
 * What billing writes to the audit log through auth's narrow `BillingAudit` entrypoint (its alerts):
 * the record, the tenant it concerns, and `ref` — billing's own id of the fact (an alert id), from
 * which the row's id is derived, so writing the same fact again (a retried delivery) adds no row.
 */
export const BillingAuditRecordSchema = AuditRecordSchema.extend({
  tenant_id: z.string().min(1).max(64),
  ref: z.string().regex(/^[A-Za-z0-9_-]{1,128}$/),
}).strict();
export type BillingAuditRecord = z.infer<typeof BillingAuditRecordSchema>;

export const AuditQuerySchema = ListQuerySchema.extend({
  tenant_id: z.string().min(1).max(64).optional(),
}).strict();
export type AuditQuery = z.infer<typeof AuditQuerySchema>;

// ---- outputs ----

export const LimitsOutSchema = z.object({
  rpm: z.number().int().nullable(),
  tpm: z.number().int().nullable(),
  max_concurrency: z.number().int().nullable(),
});
export const BudgetOutSchema = z.object({ monthly_usd: z.number().nullable() });

export const TenantSchema = z.object({
  id: z.string(),
  object: z.literal("tenant"),
  name: z.string(),
  status: z.enum(["active", "disabled"]),
  limits: LimitsOutSchema,
  budget: BudgetOutSchema,
  cors_origins: z.array(z.string()),
  created_at: z.number().int(),
  updated_at: z.number().int(),
  disabled_at: z.number().int().nullable(),
});
export type Tenant = z.infer<typeof TenantSchema>;

export const ApiKeySchema = z.object({
  id: z.string(),
  object: z.literal("api_key"),
  tenant_id: z.string(),
  name: z.string().nullable(),
  /** First characters of the key, for recognising it (`sk-dev-AbCd1234`). Never the key. */
  prefix: z.string(),
  status: z.enum(["active", "revoked", "expired"]),
  scopes: z.array(ScopeSchema),
  models: z.array(z.string()).nullable(),
  limits: LimitsOutSchema,
  budget: BudgetOutSchema,
  expires_at: z.number().int().nullable(),
  revoked_at: z.number().int().nullable(),
  /** Approximate: recorded at most about once a minute per key, never by a write per request. */
  last_used_at: z.number().int().nullable(),
  created_at: z.number().int(),
  updated_at: z.number().int(),
  /** `admin`, `key:<id>` for a key created by a tenant's own `keys:write` key, or `user:<id>` for a console user. */
  created_by: z.string(),
});
export type ApiKey = z.infer<typeof ApiKeySchema>;

/** The one response that carries the plaintext key: creation (and rotation). */
export const CreatedApiKeySchema = ApiKeySchema.extend({ key: z.string() });
export type CreatedApiKey = z.infer<typeof CreatedApiKeySchema>;

export const RotatedApiKeySchema = CreatedApiKeySchema.extend({
  /** Unix seconds until which the previous secret still authenticates. */
  previous_key_expires_at: z.number().int(),
});
export type RotatedApiKey = z.infer<typeof RotatedApiKeySchema>;

export const AuditEntrySchema = z.object({
  id: z.string(),
  object: z.literal("audit_log_entry"),
  at: z.number().int(),
  actor: z.string(),
  action: z.string(),
  tenant_id: z.string().nullable(),
  target_type: z.string(),
  target_id: z.string(),
  request_id: z.string(),
  details: z.record(z.string(), z.unknown()),
});
export type AuditEntry = z.infer<typeof AuditEntrySchema>;

export interface ListPage<T> {
  object: "list";
  data: T[];
  has_more: boolean;
  first_id: string | null;
  last_id: string | null;
}

export function listSchema<T extends z.ZodType>(item: T) {
  return z.object({
    object: z.literal("list"),
    data: z.array(item),
    has_more: z.boolean(),
    first_id: z.string().nullable(),
    last_id: z.string().nullable(),
  });
}

// ---- RPC call context ----

/**
 * Who asks auth to change something: the gateway's signed admin context (it checked the admin
 * token, which auth cannot see) or, for a tenant's self-service, the caller's principal token.
 * Auth verifies either, so no actor is an unsigned claim.
 */
export type AuthActor = Actor | ({ type: "session" } & SessionCredential);

export interface AuthCallContext {
  requestId: string;
  actor: AuthActor;
  /** The gateway's clock (epoch ms): honoured by auth only in the test stack (test-clock.ts), else Date.now(). */
  nowMs?: number;
}

/** A console user: the session cookie's token (and CSRF header), which auth verifies against its session row. */
export const SessionActorSchema = SessionCredentialSchema.extend({ type: z.literal("session") });

export const AuthCallContextSchema = z.object({
  requestId: z.string().min(1).max(128),
  actor: z.union([ActorSchema, SessionActorSchema]),
  nowMs: z.number().int().nonnegative().optional(),
});
