import { z } from "zod";
import { fail, ok, PrincipalTokenSchema, verifyAdminContext, verifyPrincipalToken, type Result } from "../../../shared/src";
import type { OwnerRef } from "../../../shared/src/contracts/providers";
import { PLATFORM } from "./records";

const OwnerRefSchema = z.discriminatedUnion("kind", [
  z.object({ kind: z.literal("platform"), adminToken: z.string().min(1).max(4096) }).strict(),
  z.object({ kind: z.literal("tenant"), principalToken: PrincipalTokenSchema }).strict(),
]);

export type Access = "read" | "write";

/**
 * Who a management call acts for, as the owner column's value. The platform is proven by the
 * gateway's signed admin context (minted after it checked the admin token); a tenant by its signed
 * principal token. Both are verified here; the tenant's token must carry `providers:write` to
 * change anything and `providers:read` (or write) to look.
 */
export async function resolveOwner(ref: unknown, access: Access, keys: { principal: string; gateway: string }): Promise<Result<string>> {
  const parsed = OwnerRefSchema.safeParse(ref);
  if (!parsed.success) return fail({ code: "invalid_api_key", message: "The caller of the providers API is not identified." });
  const owner: OwnerRef = parsed.data;
  if (owner.kind === "platform") {
    const admin = await verifyAdminContext(owner.adminToken, keys.gateway);
    return admin.ok ? ok(PLATFORM) : admin;
  }
  const claims = await verifyPrincipalToken(owner.principalToken, keys.principal);
  if (!claims.ok) return claims;
  const scopes = claims.value.scopes;
  const allowed = access === "read" ? scopes.includes("providers:read") || scopes.includes("providers:write") : scopes.includes("providers:write");
  if (!allowed) {
    return fail({
      code: "permission_denied",
      message: `This API key does not have the '${access === "read" ? "providers:read" : "providers:write"}' scope required for this endpoint.`,
    });
  }
  return ok(claims.value.tenantId);
}
