import { z } from "zod";

/** Scopes a key may hold. A key never grants more than its tenant's own key could. */
export const SCOPES = [
  "chat",
  "embeddings",
  "batch",
  "agentic",
  "providers:read",
  "providers:write",
  "usage:read",
  "keys:write",
  "webhooks:read",
  "webhooks:write",
] as const;
export const ScopeSchema = z.enum(SCOPES);
export type Scope = z.infer<typeof ScopeSchema>;

/** Per-subject limits. `null`/absent means unlimited on that axis. */
export const LimitsSchema = z
  .object({
    rpm: z.number().int().positive().nullable().optional(),
    tpm: z.number().int().positive().nullable().optional(),
    max_concurrency: z.number().int().positive().nullable().optional(),
  })
  .strict();
export type Limits = z.infer<typeof LimitsSchema>;

export const BudgetSchema = z
  .object({
    monthly_usd: z.number().nonnegative().nullable().optional(),
  })
  .strict();
export type Budget = z.infer<typeof BudgetSchema>;

/**
 * Who is calling, as established by the auth Worker from an API key. The gateway caches it in
 * isolate memory; `token` is the signed form every downstream service verifies before acting.
 */
export interface Principal {
  tenantId: string;
  keyId: string;
  scopes: Scope[];
  /** Glob patterns of the models the key may use; `null` = every model. */
  models: string[] | null;
  keyLimits: Limits;
  tenantLimits: Limits;
  keyBudget: Budget;
  tenantBudget: Budget;
  /**
   * The browser origins the tenant allows (CORS, `https://host[:port]`, lowercase): an answer to a
   * request with this key carries `Access-Control-Allow-Origin` for one of them (gateway
   * middleware/cors.ts, per-tenant mode). Empty = none.
   */
  tenantCorsOrigins: string[];
  /** JWS (EdDSA) over { sub: keyId, tid: tenantId, scp: scopes }, short-lived. */
  token: string;
  /** Epoch ms after which the token must not be presented any more. */
  tokenExpiresAt: number;
  /**
   * Epoch ms at which the key itself stops working (its `expires_at`, or the end of a rotation's
   * grace period for a previous secret); `null`/absent = never. Caches must not outlive it.
   */
  keyExpiresAt?: number | null;
}

/** The claims of a principal token, as verified downstream. */
export interface PrincipalClaims {
  tenantId: string;
  keyId: string;
  scopes: Scope[];
  /**
   * The key's model globs (absent or `null` = every model), signed so that model-proxy can apply
   * them to what a route resolves to, not only to the name the client typed.
   */
  models?: string[] | null;
}

/**
 * Longest principal token any Worker accepts. The token carries the key's model globs (at most
 * 100 of 256 characters, see the keys API), so it is sized for them, not for the usual ~300 bytes.
 */
export const MAX_PRINCIPAL_TOKEN_CHARS = 64 * 1024;
export const PrincipalTokenSchema = z.string().min(1).max(MAX_PRINCIPAL_TOKEN_CHARS);
