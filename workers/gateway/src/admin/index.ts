import type { OpenAPIHono } from "@hono/zod-openapi";
import { adminTokenAuth } from "../middleware/admin-token";
import { boundedBody } from "../middleware/body";
import type { GatewayBindings } from "../types";
import { registerAuditRoutes } from "./audit";
import { registerCreditRoutes } from "./credits";
import { registerKeyRoutes } from "./keys";
import { registerPriceImportRoute } from "./price-import";
import { registerPriceRoutes } from "./prices";
import { registerTenantRoutes } from "./tenants";
import { registerUserAdminRoutes } from "./users";

/**
 * `/admin`: tenants, their keys and the audit log, for the platform operator (admin token).
 * Every route is served by the auth Worker over RPC; the gateway validates input first (400 naming
 * `param`) and drops its own cached principals after a change.
 */
export function registerAdmin(app: OpenAPIHono<GatewayBindings>): void {
  app.openAPIRegistry.registerComponent("securitySchemes", "AdminToken", {
    type: "http",
    scheme: "bearer",
    description: "The platform admin token (Worker secret ADMIN_TOKEN).",
  });
  app.use("/admin/*", adminTokenAuth());
  app.use("/admin/*", boundedBody());
  registerTenantRoutes(app);
  registerKeyRoutes(app);
  registerAuditRoutes(app);
  registerPriceImportRoute(app);
  registerPriceRoutes(app);
  registerUserAdminRoutes(app);
  registerCreditRoutes(app);
}
