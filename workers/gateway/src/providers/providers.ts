import { createRoute, type OpenAPIHono } from "@hono/zod-openapi";
import { parseOrThrow } from "../../../shared/src";
import { ProviderTestSchema } from "../../../shared/src/contracts/providers";
import { errorResponses, jsonBody, jsonResponse, optionalJsonBodyDoc, unwrap } from "../admin/openapi";
import { optionalJson } from "../keys";
import type { GatewayBindings } from "../types";
import { auditProviderChange, changedFields, providerDetails } from "./audit";
import { ownerOf } from "./owner";
import { Deleted, IdParam, Provider, ProviderCreate, ProviderList, ProviderRotate, ProviderTest, ProviderTestReport, ProviderUpdate } from "./schemas";

const SECURITY: Record<string, string[]>[] = [{ AdminToken: [] }, { ApiKey: [] }];
const common = { tags: ["providers"], security: SECURITY };

const list = createRoute({
  ...common,
  method: "get",
  path: "/v1/providers",
  summary: "List providers: the platform's (admin token) or your tenant's own (providers:read)",
  responses: { 200: jsonResponse(ProviderList, "The providers"), ...errorResponses(401, 403, 503) },
});

const create = createRoute({
  ...common,
  method: "post",
  path: "/v1/providers",
  summary: "Add a provider; its credential is stored encrypted and never returned",
  description:
    "`type` selects the wire format and the default `base_url` (OpenAI-compatible presets: groq, together, mistral, deepseek, fireworks, openrouter, xai, perplexity, ollama, vllm; `openai-compatible` takes any `base_url`; `azure-openai` takes the resource URL and `api_version`; `anthropic` and `google` are translated). A `base_url` must be https on a public host (port 443 or 8443); a local or private upstream (a vLLM or Ollama on localhost or a private network, over http) is accepted only where model-proxy runs with `ALLOW_PRIVATE_UPSTREAMS = \"true\"` — local development (`npm run dev` sets it), never production. `models` lists what GET /v1/models shows and is an allow-list (see the field). Call its models as `<name>/<model>`; a tenant's provider takes precedence over the platform's of the same name for that tenant.",
  request: jsonBody(ProviderCreate),
  responses: { 201: jsonResponse(Provider, "The provider"), ...errorResponses(400, 401, 403, 409, 503) },
});

const get = createRoute({
  ...common,
  method: "get",
  path: "/v1/providers/{id}",
  summary: "Get a provider",
  request: { params: IdParam },
  responses: { 200: jsonResponse(Provider, "The provider"), ...errorResponses(401, 403, 404, 503) },
});

const patch = createRoute({
  ...common,
  method: "patch",
  path: "/v1/providers/{id}",
  summary: "Change a provider's configuration",
  description:
    "Moving a provider that has a credential to another host (the scheme, host or port of its base URL, through `base_url` or `type`) requires `api_key` in the same request (400 naming `api_key` otherwise): a stored key is never sent to a new host. `api_key` may also be sent alone; it replaces the credential like `/rotate`.",
  request: { params: IdParam, ...jsonBody(ProviderUpdate) },
  responses: { 200: jsonResponse(Provider, "The updated provider"), ...errorResponses(400, 401, 403, 404, 409, 503) },
});

const remove = createRoute({
  ...common,
  method: "delete",
  path: "/v1/providers/{id}",
  summary: "Delete a provider and its stored credential",
  request: { params: IdParam },
  responses: { 200: jsonResponse(Deleted, "Deleted"), ...errorResponses(401, 403, 404, 503) },
});

const rotate = createRoute({
  ...common,
  method: "post",
  path: "/v1/providers/{id}/rotate",
  summary: "Replace a provider's credential",
  request: { params: IdParam, ...jsonBody(ProviderRotate) },
  responses: { 200: jsonResponse(Provider, "The provider, with the new credential's last4 and rotated_at"), ...errorResponses(400, 401, 403, 404, 503) },
});

const test = createRoute({
  ...common,
  method: "post",
  path: "/v1/providers/{id}/test",
  summary: "Make a cheap call (a one-token chat) with the stored credential and report the result",
  description:
    'Optional JSON body `{"model": "<upstream model>"}`; without it, the provider\'s first listed model is called. The report says whether the provider answered (`reachable`), its HTTP `status`, how long it took, and on failure an error in the gateway\'s words (the credential was rejected, rate limited, unknown model, ...). The upstream\'s own answer is never returned.',
  request: { params: IdParam, ...optionalJsonBodyDoc("ProviderTest", "Which model to call; optional") },
  responses: { 200: jsonResponse(ProviderTestReport, "The outcome of the call"), ...errorResponses(400, 401, 403, 404, 503) },
});

export function registerProviderRoutes(app: OpenAPIHono<GatewayBindings>): void {
  app.openAPIRegistry.register("ProviderTest", ProviderTest);
  app.openapi(list, async (c) => c.json(unwrap(await c.env.PROVIDERS.listProviders(ownerOf(c))), 200));

  app.openapi(create, async (c) => {
    const provider = unwrap(await c.env.PROVIDERS.createProvider(ownerOf(c), c.req.valid("json")));
    await auditProviderChange(c, { action: "provider.create", target_type: "provider", target_id: provider.id, details: providerDetails(provider) });
    return c.json(provider, 201);
  });

  app.openapi(get, async (c) => c.json(unwrap(await c.env.PROVIDERS.getProvider(ownerOf(c), c.req.valid("param").id)), 200));

  app.openapi(patch, async (c) => {
    const body = c.req.valid("json");
    const provider = unwrap(await c.env.PROVIDERS.updateProvider(ownerOf(c), c.req.valid("param").id, body));
    await auditProviderChange(c, {
      action: "provider.update",
      target_type: "provider",
      target_id: provider.id,
      details: { ...providerDetails(provider), fields: changedFields(body) },
    });
    return c.json(provider, 200);
  });

  app.openapi(remove, async (c) => {
    const deleted = unwrap(await c.env.PROVIDERS.deleteProvider(ownerOf(c), c.req.valid("param").id));
    await auditProviderChange(c, { action: "provider.delete", target_type: "provider", target_id: deleted.id });
    return c.json(deleted, 200);
  });

  app.openapi(rotate, async (c) => {
    const provider = unwrap(await c.env.PROVIDERS.rotateProviderKey(ownerOf(c), c.req.valid("param").id, c.req.valid("json")));
    await auditProviderChange(c, { action: "provider.rotate", target_type: "provider", target_id: provider.id, details: providerDetails(provider) });
    return c.json(provider, 200);
  });

  app.openapi(test, async (c) => {
    const body = parseOrThrow(ProviderTestSchema, await optionalJson(c.req.raw));
    return c.json(unwrap(await c.env.PROVIDERS.testProvider(ownerOf(c), c.req.valid("param").id, body, c.get("requestId"))), 200);
  });
}
