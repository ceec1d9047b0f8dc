import type { ApiKey, CreatedApiKey, KeyCreate, Tenant, TenantCreate } from "../../workers/shared/src/contracts/auth";
import type { Stack } from "./stack";
import { gatewayFetch, type GatewayFetchInit } from "./fetch";

/**
 * Tenants and keys for system tests, created over HTTP through the admin API exactly as an
 * operator would (requests go through `gatewayFetch` in ./fetch.ts). Every helper throws with the
 * gateway's answer if it is not the expected status.
 *
 *   const { tenant, key, apiKey } = await tenantWithKey(stack);                 // default scopes
 *   const { apiKey } = await tenantWithKey(stack, { scopes: ["chat"], models: ["gpt-4o*"] });
 *   const client = openaiClient(stack, apiKey);                               // ./clients.ts
 */
export type { ApiKey, CreatedApiKey, KeyCreate, Tenant, TenantCreate };

/** `gatewayFetch` with the admin token. */
export async function adminFetch(
  stack: Pick<Stack, "url" | "adminToken">,
  path: string,
  init: Pick<GatewayFetchInit, "method" | "body" | "headers"> = {},
): Promise<Response> {
  return gatewayFetch(stack, path, { ...init, admin: true });
}

async function expectJson<T>(res: Response, status: number, what: string): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

let counter = 0;

/** POST /admin/tenants. */
export async function createTenant(stack: Pick<Stack, "url" | "adminToken">, name?: string | TenantCreate): Promise<Tenant> {
  const body: TenantCreate = typeof name === "object" ? name : { name: name ?? `tenant-${Date.now()}-${++counter}` };
  return expectJson<Tenant>(await adminFetch(stack, "/admin/tenants", { body }), 201, "create tenant");
}

/** POST /admin/tenants/{id}/keys → the key object with its plaintext `key` (shown only here). */
export async function createKey(stack: Pick<Stack, "url" | "adminToken">, tenantId: string, body: KeyCreate = {}): Promise<CreatedApiKey> {
  return expectJson<CreatedApiKey>(await adminFetch(stack, `/admin/tenants/${tenantId}/keys`, { body }), 201, "create key");
}

/** A fresh tenant and one key for it. `apiKey` is the plaintext to send as the Bearer token. */
export async function tenantWithKey(
  stack: Pick<Stack, "url" | "adminToken">,
  keyBody: KeyCreate = {},
): Promise<{ tenant: Tenant; key: CreatedApiKey; apiKey: string }> {
  const tenant = await createTenant(stack);
  const key = await createKey(stack, tenant.id, keyBody);
  return { tenant, key, apiKey: key.key };
}

/** DELETE /admin/keys/{id}. */
export async function revokeKey(stack: Pick<Stack, "url" | "adminToken">, keyId: string): Promise<ApiKey> {
  return expectJson<ApiKey>(await adminFetch(stack, `/admin/keys/${keyId}`, { method: "DELETE" }), 200, "revoke key");
}

/** PATCH /admin/tenants/{id} — tenant-wide limits and budget. */
export async function updateTenant(stack: Pick<Stack, "url" | "adminToken">, tenantId: string, body: Record<string, unknown>): Promise<Tenant> {
  return expectJson<Tenant>(await adminFetch(stack, `/admin/tenants/${tenantId}`, { method: "PATCH", body }), 200, "update tenant");
}

/** PATCH /admin/keys/{id}. */
export async function updateKey(stack: Pick<Stack, "url" | "adminToken">, keyId: string, body: Record<string, unknown>): Promise<ApiKey> {
  return expectJson<ApiKey>(await adminFetch(stack, `/admin/keys/${keyId}`, { method: "PATCH", body }), 200, "update key");
}
