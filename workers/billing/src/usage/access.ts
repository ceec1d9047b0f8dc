import { fail, ok, verifyActor, type Result } from "../../../shared/src";

/**
 * Who may read a tenant's usage or spend, or change prices. Every caller proves itself with a
 * signed token (see contracts/actor.ts): the gateway's admin context reads any tenant and alone
 * changes prices; a tenant key's principal token reads only its own tenant (its key, or the
 * tenant as a whole). Nothing is returned on an unsigned claim of who is asking.
 */
export interface VerifyKeys {
  principal: string;
  gateway: string;
}

export async function requireAdmin(actor: unknown, keys: VerifyKeys): Promise<Result<true>> {
  const verified = await verifyActor(actor, keys);
  if (!verified.ok) return verified;
  if (verified.value.kind !== "admin") return fail({ code: "permission_denied", message: "Only the platform admin can change prices." });
  return ok(true);
}

/**
 * May `actor` read the usage of `tenantId` (and, with `keyId`, of that key)? A key reading its own
 * spend needs no scope (the limiter asks on its behalf); reading the tenant's, or another key's,
 * needs `usage:read`.
 */
export async function requireUsageReader(actor: unknown, keys: VerifyKeys, tenantId: string, keyId: string | null): Promise<Result<true>> {
  const verified = await verifyActor(actor, keys);
  if (!verified.ok) return verified;
  if (verified.value.kind === "admin") return ok(true);
  const claims = verified.value.claims;
  // Another tenant's usage is not found, never forbidden: its existence is not confirmed.
  if (claims.tenantId !== tenantId) return fail({ code: "not_found", message: "No usage was found for this tenant." });
  if (keyId === claims.keyId || claims.scopes.includes("usage:read")) return ok(true);
  return fail({ code: "permission_denied", message: "This API key does not have the 'usage:read' scope required to read its tenant's usage." });
}
