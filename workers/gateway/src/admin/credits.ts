import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { CreditBalanceSchema, CreditGrantInputSchema, CreditGrantSchema } from "../../../shared/src/contracts/credits";
import { forgetCreditLimit } from "../limits/credits";
import type { GatewayBindings } from "../types";
import { recordAudit } from "./audit";
import { ADMIN_SECURITY, errorResponses, jsonBody, jsonResponse, unwrap } from "./openapi";
import { adminActor, adminContext } from "./rpc";

const CreditGrant = CreditGrantSchema.openapi("CreditGrant");
const CreditGrantInput = CreditGrantInputSchema.openapi("CreditGrantInput");
const CreditBalance = CreditBalanceSchema.openapi("CreditBalance");
const TenantParam = z.object({
  id: z
    .string()
    .min(1)
    .max(100)
    .openapi({ param: { name: "id", in: "path" }, example: "ten_3x8cQm1Lw0b2kVhT9yZ4aP" }),
});

const CREDITS_DOC =
  "A tenant with credits is prepaid: its usage from its first grant on is drawn from them (the grant expiring first first), each request reserving " +
  "its worst-case cost before it runs (like a budget), so parallel requests never take the balance below zero; at zero a request is refused with " +
  "429 `insufficient_quota` and `x-should-retry: false`, and a refusal costs nothing. A grant reaches every gateway isolate within 30 s.";

const grant = createRoute({
  tags: ["admin: tenants"],
  security: ADMIN_SECURITY,
  method: "post",
  path: "/admin/tenants/{id}/credits",
  summary: "Grant prepaid credits to a tenant",
  description: `${CREDITS_DOC} \`expires_at\`: unix seconds (absent: never).`,
  request: { params: TenantParam, ...jsonBody(CreditGrantInput) },
  responses: { 201: jsonResponse(CreditGrant, "The grant"), ...errorResponses(400, 401, 404, 409, 503) },
});

const balance = createRoute({
  tags: ["admin: tenants"],
  security: ADMIN_SECURITY,
  method: "get",
  path: "/admin/tenants/{id}/credits",
  summary: "A tenant's credit balance and every grant with its expiry",
  description: CREDITS_DOC,
  request: { params: TenantParam },
  responses: { 200: jsonResponse(CreditBalance, "The balance and grants"), ...errorResponses(401, 404, 503) },
});

export function registerCreditRoutes(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(grant, async (c) => {
    const tenantId = c.req.valid("param").id;
    unwrap(await c.env.AUTH.getTenant(adminContext(c), tenantId));
    const created = unwrap(await c.env.BILLING.grantCredits(adminActor(c), tenantId, c.req.valid("json")));
    forgetCreditLimit(tenantId);
    await recordAudit(c, adminContext(c), {
      action: "credits.grant",
      target_type: "credits",
      target_id: created.id,
      details: { tenant_id: tenantId, amount_micros: created.amount_micros, expires_at: created.expires_at },
    });
    return c.json(created, 201);
  });

  app.openapi(balance, async (c) => {
    const tenantId = c.req.valid("param").id;
    unwrap(await c.env.AUTH.getTenant(adminContext(c), tenantId));
    return c.json(unwrap(await c.env.BILLING.credits(adminActor(c), tenantId)), 200);
  });
}
