import type { ProviderView, RouteView } from "../../workers/shared/src/contracts/providers";
import type { Stack } from "./stack";
import { tenantWithKey } from "./tenants";
import { openaiClient } from "./clients";
import { gatewayFetch } from "./fetch";

/**
 * Helpers for the providers API in system tests: every call goes over HTTP through the gateway,
 * with the admin token (platform) or a tenant key, exactly as a user would make it (requests go
 * through `gatewayFetch` in ./fetch.ts).
 */
export type { ProviderView, RouteView };

export interface Caller {
  /** Bearer token: the admin token or a tenant API key. */
  token: string;
}

export async function api(stack: Pick<Stack, "url">, caller: Caller, method: string, path: string, body?: unknown): Promise<Response> {
  return gatewayFetch(stack, path, { key: caller.token, method, body });
}

async function expectStatus<T>(res: Response, status: number, what: string): Promise<T> {
  const text = await res.text();
  if (res.status !== status) throw new Error(`${what}: expected ${status}, got ${res.status}: ${text}`);
  return JSON.parse(text) as T;
}

export async function createProvider(stack: Pick<Stack, "url">, caller: Caller, body: Record<string, unknown>): Promise<ProviderView> {
  return expectStatus<ProviderView>(await api(stack, caller, "POST", "/v1/providers", body), 201, `create provider ${String(body["name"])}`);
}

export async function createRoute(stack: Pick<Stack, "url">, caller: Caller, body: Record<string, unknown>): Promise<RouteView> {
  return expectStatus<RouteView>(await api(stack, caller, "POST", "/v1/routes", body), 201, `create route ${String(body["name"])}`);
}

/** A tenant whose key may chat and manage its own providers, with an OpenAI client (no SDK retries). */
export async function providerTenant(stack: Stack) {
  const { apiKey, tenant } = await tenantWithKey(stack, { scopes: ["chat", "embeddings", "providers:read", "providers:write"] });
  return { tenant, caller: { token: apiKey }, client: openaiClient(stack, apiKey) };
}
