import type { Context } from "hono";
import type { AuditRecord, AuthCallContext } from "../../../shared/src/contracts/auth";
import type { ProviderView, RouteView } from "../../../shared/src/contracts/providers";
import { recordAudit } from "../admin/audit";
import { adminContext, keyContext } from "../admin/rpc";
import type { GatewayBindings } from "../types";
import { ownerOf } from "./owner";

/**
 * Audit rows for provider and route changes: the actor is the admin (platform) or the tenant's API
 * key (BYOK). Details name what changed — field names, the provider's type and upstream origin, a
 * route's targets — never a value of `api_key` or of a header (a credential change shows as
 * `fields: ["api_key"]` or the `provider.rotate` action).
 */
export function auditProviderChange(
  c: Context<GatewayBindings>,
  entry: Omit<AuditRecord, "target_type"> & { target_type: "provider" | "route" },
): Promise<void> {
  return recordAudit(c, actorOf(c), entry);
}

function actorOf(c: Context<GatewayBindings>): AuthCallContext {
  return ownerOf(c).kind === "tenant" ? keyContext(c) : adminContext(c);
}

export function providerDetails(p: ProviderView): Record<string, string | boolean | null> {
  return { name: p.name, type: p.type, upstream: originOf(p.base_url), has_api_key: p.has_api_key };
}

export function routeDetails(r: RouteView): Record<string, string | string[]> {
  return { name: r.name, strategy: r.strategy, targets: r.targets.map((t) => `${t.provider}/${t.model}`) };
}

/** The names of the fields a PATCH sent (never their values). */
export function changedFields(body: object): string[] {
  return Object.keys(body).sort();
}

/** Scheme, host and port only: a URL's path or query may carry things that do not belong in a log. */
function originOf(url: string | null): string | null {
  if (!url) return null;
  try {
    return new URL(url).origin;
  } catch {
    return null;
  }
}
