import type { ApiKey, Tenant } from "../../../shared/src/contracts/auth";
import type { Budget, Limits, Scope } from "../../../shared/src";

/** Rows as D1 returns them (JSON columns still strings). */
export interface TenantRow {
  id: string;
  name: string;
  status: "active" | "disabled";
  limits: string;
  budget: string;
  created_at: number;
  updated_at: number;
  disabled_at: number | null;
  /** JSON array of exact browser origins (CORS, migrations/auth/0004); '[]' = none. */
  cors_origins: string;
  /** Cache generation: bumped by every change that cached key records carry (authenticate/key-cache.ts). */
  generation: number;
}

export interface ApiKeyRow {
  id: string;
  tenant_id: string;
  name: string | null;
  prefix: string;
  hash: string;
  scopes: string;
  models: string | null;
  limits: string;
  budget: string;
  expires_at: number | null;
  revoked_at: number | null;
  last_used_at: number | null;
  created_by: string;
  created_at: number;
  updated_at: number;
}

export const nowSeconds = (nowMs: number = Date.now()): number => Math.floor(nowMs / 1000);

export function parseJson<T>(text: string | null, fallback: T): T {
  if (text === null) return fallback;
  try {
    return JSON.parse(text) as T;
  } catch {
    return fallback;
  }
}

/** Drops absent/null axes so that stored JSON only names limits that exist. */
export function compact<T extends Record<string, unknown>>(value: T): T {
  return Object.fromEntries(Object.entries(value).filter(([, v]) => v !== null && v !== undefined)) as T;
}

/** PATCH semantics for limits/budget: each axis given replaces, `null` clears, absent keeps. */
export function mergeAxes<T extends Record<string, unknown>>(current: T, patch: T | undefined): T {
  if (!patch) return current;
  return compact({ ...current, ...patch });
}

export function limitsOut(l: Limits): { rpm: number | null; tpm: number | null; max_concurrency: number | null } {
  return { rpm: l.rpm ?? null, tpm: l.tpm ?? null, max_concurrency: l.max_concurrency ?? null };
}

export function budgetOut(b: Budget): { monthly_usd: number | null } {
  return { monthly_usd: b.monthly_usd ?? null };
}

export function toTenant(row: TenantRow): Tenant {
  return {
    id: row.id,
    object: "tenant",
    name: row.name,
    status: row.status,
    limits: limitsOut(parseJson<Limits>(row.limits, {})),
    budget: budgetOut(parseJson<Budget>(row.budget, {})),
    cors_origins: parseJson<string[]>(row.cors_origins, []),
    created_at: row.created_at,
    updated_at: row.updated_at,
    disabled_at: row.disabled_at,
  };
}

export function keyStatus(row: Pick<ApiKeyRow, "revoked_at" | "expires_at">, nowSec: number): ApiKey["status"] {
  if (row.revoked_at !== null) return "revoked";
  if (row.expires_at !== null && row.expires_at <= nowSec) return "expired";
  return "active";
}

export function toApiKey(row: ApiKeyRow, nowSec: number = nowSeconds()): ApiKey {
  return {
    id: row.id,
    object: "api_key",
    tenant_id: row.tenant_id,
    name: row.name,
    prefix: row.prefix,
    status: keyStatus(row, nowSec),
    scopes: parseJson<Scope[]>(row.scopes, []),
    models: parseJson<string[] | null>(row.models, null),
    limits: limitsOut(parseJson<Limits>(row.limits, {})),
    budget: budgetOut(parseJson<Budget>(row.budget, {})),
    expires_at: row.expires_at,
    revoked_at: row.revoked_at,
    last_used_at: row.last_used_at,
    created_at: row.created_at,
    updated_at: row.updated_at,
    created_by: row.created_by,
  };
}
