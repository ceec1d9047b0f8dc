import type { OpenAPIHono } from "@hono/zod-openapi";
import { boundedBody } from "../middleware/body";
import type { GatewayBindings } from "../types";
import { registerLiteLLMRoutes } from "./litellm";
import { providerOwnerAuth } from "./owner";
import { registerProviderRoutes } from "./providers";
import { registerRewrapRoute } from "./rewrap";
import { registerRouteRoutes } from "./routes";

/**
 * `/v1/providers` and `/v1/routes`: provider and route management, for the platform (admin token)
 * or a tenant (its own, with `providers:read` / `providers:write`), served by model-proxy's
 * ProvidersService over RPC; `/v1/config/litellm` imports and exports them as a LiteLLM config. `/admin/credentials/rewrap` re-wraps credentials after a master-key
 * rotation. Another tenant's provider or route id is a 404.
 */
export function registerProviders(app: OpenAPIHono<GatewayBindings>): void {
  for (const path of ["/v1/providers", "/v1/providers/*", "/v1/routes", "/v1/routes/*", "/v1/config/litellm"]) {
    app.use(path, providerOwnerAuth());
    app.use(path, boundedBody());
  }
  registerProviderRoutes(app);
  registerRouteRoutes(app);
  registerLiteLLMRoutes(app);
  registerRewrapRoute(app);
}
