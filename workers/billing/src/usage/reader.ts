import { fail, ok, verifyPrincipalToken, type Result } from "../../../shared/src";

/**
 * Whose usage a caller of the usage API may read: a tenant key's principal token (verified here)
 * with `usage:read` reads its own tenant only; the admin reads every tenant (`tenantId: null`).
 */
export type UsageScope = { tenantId: string } | { tenantId: null };

export async function usageScope(actor: unknown, keys: { principal: string }): Promise<Result<UsageScope>> {
  if (!isKeyActor(actor)) return fail({ code: "invalid_api_key", message: "The caller of the usage API is not identified by a signed token." });
  const claims = await verifyPrincipalToken(actor.token, keys.principal);
  if (!claims.ok) return claims;
  if (!claims.value.scopes.includes("usage:read")) {
    return fail({ code: "permission_denied", message: "This API key does not have the 'usage:read' scope required to read usage." });
  }
  return ok({ tenantId: claims.value.tenantId });
}

function isKeyActor(actor: unknown): actor is { type: "key"; token: string } {
  return typeof actor === "object" && actor !== null && (actor as { type?: unknown }).type === "key" && typeof (actor as { token?: unknown }).token === "string";
}
