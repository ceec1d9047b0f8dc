import { fail, ok, verifyActor, type Result } from "../../../shared/src";
import type { VerifyKeys } from "./access";

/**
 * Whose usage a caller of the usage API may read, from its signed token (contracts/actor.ts): a
 * tenant key's principal token with `usage:read` reads its own tenant only; the gateway's admin
 * context reads every tenant (`tenantId: null`).
 */
export type UsageScope = { tenantId: string } | { tenantId: null };

export async function usageScope(actor: unknown, keys: VerifyKeys): Promise<Result<UsageScope>> {
  const verified = await verifyActor(actor, keys);
  if (!verified.ok) return verified;
  if (verified.value.kind === "admin") return ok({ tenantId: null });
  const claims = verified.value.claims;
  if (!claims.scopes.includes("usage:read")) {
    return fail({ code: "permission_denied", message: "This API key does not have the 'usage:read' scope required to read usage." });
  }
  return ok({ tenantId: claims.tenantId });
}
