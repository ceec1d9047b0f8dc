import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { presentsAdminToken } from "../middleware/admin-token";
import type { GatewayBindings } from "../types";
import { checkEverything, HealthReportSchema } from "./checks";
import { HealthSummarySchema, publicHealth } from "./summary";

const HealthSchema = z.union([HealthSummarySchema, HealthReportSchema]);

const route = createRoute({
  method: "get",
  path: "/health",
  tags: ["health"],
  summary: "Health: a cached summary for everyone; with the admin token, every Worker and each store it owns, checked now",
  description:
    "Without credentials the answer is `{status, checked_at}`, reused for up to 15 s, so public traffic never reaches a store. With `Authorization: Bearer <ADMIN_TOKEN>` every Worker is asked over its binding to check each store it owns, and the report names what failed.",
  responses: {
    200: { description: "All services and stores healthy", content: { "application/json": { schema: HealthSchema } } },
    503: { description: "At least one check failed (with the admin token, `failed` names them)", content: { "application/json": { schema: HealthSchema } } },
  },
});

export function registerHealth(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(route, async (c) => {
    if (await presentsAdminToken(c)) {
      const report = await checkEverything(c.env);
      c.header("cache-control", "no-store");
      return c.json(report, report.status === "ok" ? 200 : 503);
    }
    const summary = await publicHealth(c.env);
    return c.json(summary, summary.status === "ok" ? 200 : 503);
  });
}
