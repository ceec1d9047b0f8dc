import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import type { AuditEntry as AuditEntryT, ListPage } from "../../../shared/src/contracts/auth";
import type { GatewayBindings } from "../types";
import { ADMIN_SECURITY, errorResponses, jsonResponse, unwrap } from "./openapi";
import { adminContext } from "./rpc";
import { AuditList, AuditQuery } from "./schemas";

const list = createRoute({
  tags: ["admin: audit"],
  security: ADMIN_SECURITY,
  method: "get",
  path: "/admin/audit-log",
  summary: "The audit log of admin and key-management actions, newest first",
  description: "Who (`admin` or `key:<id>`), what, when and under which request id. Never contains a key.",
  request: { query: AuditQuery },
  responses: { 200: jsonResponse(AuditList, "A page of audit entries"), ...errorResponses(400, 401, 503) },
});

export function registerAuditRoutes(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(list, async (c) => {
    const page = unwrap(await c.env.AUTH.listAuditLog(adminContext(c), c.req.valid("query"))) as ListPage<AuditEntryT>;
    return c.json(page, 200);
  });
}
