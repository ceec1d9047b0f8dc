import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { Context } from "hono";
import type { AuditEntry as AuditEntryT, AuditRecord, AuthCallContext, ListPage } from "../../../shared/src/contracts/auth";
import type { GatewayBindings } from "../types";
import { ADMIN_SECURITY, errorResponses, jsonResponse, unwrap } from "./openapi";
import { adminContext } from "./rpc";
import { AuditList, AuditQuery } from "./schemas";
import { log } from "../../../shared/src/log";

const list = createRoute({
  tags: ["admin: audit"],
  security: ADMIN_SECURITY,
  method: "get",
  path: "/admin/audit-log",
  summary: "The audit log of admin, key, provider, route, price and credential changes, newest first",
  description:
    "Who (`admin` or `key:<id>`), what, when and under which request id. Never contains a key or a provider credential (a credential change is recorded by name: `fields` lists `api_key`).",
  request: { query: AuditQuery },
  responses: { 200: jsonResponse(AuditList, "A page of audit entries"), ...errorResponses(400, 401, 503) },
});

export function registerAuditRoutes(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(list, async (c) => {
    const page = unwrap(await c.env.AUTH.listAuditLog(adminContext(c), c.req.valid("query")));
    return c.json(page, 200);
  });
}

/**
 * Records a change made by a Worker other than auth (model-proxy's providers and routes, billing's
 * prices, the secrets Worker's re-wrap) in auth's audit log, once that change succeeded. The gateway
 * route is the one place that knows both who acted (admin token or API key) and that the change
 * happened, so the owners need no audit code of their own and auth keeps the one log. The row
 * cannot share a transaction with the change (another database): a failed write is logged with the
 * request id, and the change, already made, is still reported as made.
 */
export async function recordAudit(c: Context<GatewayBindings>, actor: AuthCallContext, entry: AuditRecord): Promise<void> {
  const written = await c.env.AUTH.recordAudit(actor, entry).catch((err: unknown) => ({
    ok: false as const,
    error: { code: "service_unavailable", message: err instanceof Error ? err.message : String(err) },
  }));
  if (!written.ok) {
    log.error("gateway", "audit row not written", { requestId: actor.requestId, op: entry.action, detail: entry.target_id, code: written.error.code });
  }
}
