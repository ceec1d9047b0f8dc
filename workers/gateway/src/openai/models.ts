import type { OpenAPIHono } from "@hono/zod-openapi";
import { z } from "zod";
import { ApiError, modelAllowed, requireModelScope, type Principal } from "../../../shared/src";
import { ModelListSchema, ModelSchema, type Model } from "../../../shared/src/openai";
import { API_KEY_SECURITY, errorResponses, jsonResponse, unwrap } from "../admin/openapi";
import { EXAMPLES } from "../docs/examples";
import type { GatewayBindings } from "../types";
import type { OpenAISurface } from "./surface";

/** The models this key may use: the tenant's addressable models, filtered by the key's model globs. */
async function allowedModels(env: GatewayEnv, principal: Principal): Promise<Model[]> {
  requireModelScope(principal);
  let result;
  try {
    result = await env.MODEL_PROXY.listModels(principal.token);
  } catch {
    throw new ApiError({
      code: "service_unavailable",
      message: "The model list is temporarily unavailable. Retry the request.",
      headers: { "retry-after": "1" },
    });
  }
  return (unwrap(result) as Model[]).filter((m) => modelAllowed(principal, m.id));
}

/** `GET <prefix>/models` and `GET <prefix>/models/{id}` (ids contain `/`: `openai/gpt-4o`). */
export function registerModels(app: OpenAPIHono<GatewayBindings>, s: OpenAISurface): void {
  app.openAPIRegistry.registerPath({
    method: "get",
    path: `${s.prefix}/models`,
    tags: s.tags,
    summary: "List the models this API key may use",
    security: API_KEY_SECURITY,
    responses: { 200: jsonResponse(ModelListSchema, "OpenAI's model list", EXAMPLES.models.list), ...errorResponses(401, 403, 503) },
  });
  app.get(`${s.prefix}/models`, async (c) => {
    const data = await allowedModels(c.env, c.get("principal"));
    return c.json({ object: "list", data });
  });

  app.openAPIRegistry.registerPath({
    method: "get",
    path: `${s.prefix}/models/{model}`,
    tags: s.tags,
    summary: "Retrieve one model this API key may use (the id may contain `/`)",
    security: API_KEY_SECURITY,
    request: { params: z.object({ model: z.string().meta({ example: "openai/gpt-4o-mini" }) }) },
    responses: { 200: jsonResponse(ModelSchema, "The model", EXAMPLES.models.one), ...errorResponses(401, 403, 404, 503) },
  });
  app.get(`${s.prefix}/models/:model{.+}`, async (c) => {
    const id = c.req.param("model");
    const principal = c.get("principal");
    requireModelScope(principal);
    const notFound = new ApiError({ code: "model_not_found", param: "model", message: `The model '${id}' does not exist or you do not have access to it.` });
    // The key's globs first: a model the key may not use is a 404 without asking model-proxy.
    if (!modelAllowed(principal, id)) throw notFound;
    let result;
    try {
      result = await c.env.MODEL_PROXY.getModel(principal.token, id);
    } catch {
      throw new ApiError({ code: "service_unavailable", message: "The model is temporarily unavailable. Retry the request.", headers: { "retry-after": "1" } });
    }
    if (!result.ok) throw result.error.code === "model_not_found" ? notFound : ApiError.from(result.error);
    return c.json(result.value as Model);
  });
}
