import { z } from "@hono/zod-openapi";
import {
  DeletedViewSchema,
  listOf,
  ProviderCreateSchema,
  ProviderRotateSchema,
  ProviderTestReportSchema,
  ProviderTestSchema,
  ProviderUpdateSchema,
  ProviderViewSchema,
  RewrapRequestSchema,
  RewrapSummarySchema,
  RouteCreateSchema,
  RouteUpdateSchema,
  RouteViewSchema,
} from "../../../shared/src/contracts/providers";

/**
 * The shared providers contract, named for the OpenAPI document. The gateway validates with the
 * same schemas model-proxy validates with again (the callee), so a 400 names `param` before any RPC.
 */
export const Provider = ProviderViewSchema.openapi("Provider", {
  description: "A configured upstream. The credential is never returned: only `last4` and `rotated_at`.",
});
export const ProviderList = listOf(Provider).openapi("ProviderList");
export const ProviderCreate = ProviderCreateSchema.openapi("ProviderCreate");
export const ProviderUpdate = ProviderUpdateSchema.openapi("ProviderUpdate");
export const ProviderRotate = ProviderRotateSchema.openapi("ProviderRotate");
export const ProviderTest = ProviderTestSchema.openapi("ProviderTest");
export const ProviderTestReport = ProviderTestReportSchema.openapi("ProviderTestReport");

export const Route = RouteViewSchema.openapi("Route", {
  description: "A public model name served by provider targets under a strategy, with retries, a per-attempt timeout and circuit breaking.",
});
export const RouteList = listOf(Route).openapi("RouteList");
export const RouteCreate = RouteCreateSchema.openapi("RouteCreate");
export const RouteUpdate = RouteUpdateSchema.openapi("RouteUpdate");

export const Deleted = DeletedViewSchema.openapi("Deleted");
export const RewrapRequest = RewrapRequestSchema.openapi("CredentialsRewrapRequest");
export const RewrapSummary = RewrapSummarySchema.openapi("CredentialsRewrap");

export const IdParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .openapi({ param: { name: "id", in: "path" }, example: "prv_3hVbq9pC1Wm0YfL2xN7aKd" }),
});
