import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { CreditBalanceSchema, CreditGrantInputSchema, CreditGrantSchema, CreditSettingsInputSchema } from "../../../shared/src/contracts/credits";
import { forgetCreditLimit } from "../limits/credits";
import type { GatewayBindings } from "../types";
import { recordAudit } from "./audit";
import { ADMIN_SECURITY, errorResponses, jsonBody, jsonResponse, unwrap } from "./openapi";
import { adminActor, adminContext } from "./rpc";

const CreditGrant = CreditGrantSchema.openapi("CreditGrant");
const CreditGrantInput = CreditGrantInputSchema.openapi("CreditGrantInput");
export const CreditBalance = CreditBalanceSchema.openapi("CreditBalance");
const CreditSettingsInput = CreditSettingsInputSchema.openapi("CreditSettingsInput");
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

const settings = createRoute({
  tags: ["admin: tenants"],
  security: ADMIN_SECURITY,
  method: "put",
  path: "/admin/tenants/{id}/credits/settings",
  summary: "Set a tenant's low-balance floor (the `billing.credits_low` alert)",
  description:
    "`low_balance_usd`: when the tenant's credit balance falls below it, one `billing.credits_low` tenant event (webhooks) and one audit row, " +
    "once per grant (a new grant re-arms it). `null` restores the default, 10 % of the newest grant; 0 turns the alert off. Answers the balance.",
  request: { params: TenantParam, ...jsonBody(CreditSettingsInput) },
  responses: { 200: jsonResponse(CreditBalance, "The balance with its floor"), ...errorResponses(400, 401, 404, 503) },
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

  app.openapi(settings, async (c) => {
    const tenantId = c.req.valid("param").id;
    unwrap(await c.env.AUTH.getTenant(adminContext(c), tenantId));
    const updated = unwrap(await c.env.BILLING.creditSettings(adminActor(c), tenantId, c.req.valid("json")));
    await recordAudit(c, adminContext(c), {
      action: "credits.settings",
      target_type: "credits",
      target_id: tenantId,
      details: { tenant_id: tenantId, low_balance_micros: updated.low_balance_micros, low_balance_default: updated.low_balance_default },
    });
    return c.json(updated, 200);
  });

  app.openapi(balance, async (c) => {
    const tenantId = c.req.valid("param").id;
    unwrap(await c.env.AUTH.getTenant(adminContext(c), tenantId));
    return c.json(unwrap(await c.env.BILLING.credits(adminActor(c), tenantId)), 200);
  });
}
