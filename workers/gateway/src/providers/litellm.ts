import { createRoute, z, type OpenAPIHono } from "@hono/zod-openapi";
import { parse as parseYaml, stringify as toYaml, YAMLParseError } from "yaml";
import { ApiError } from "../../../shared/src";
import { ImportPlanSchema, LiteLLMExportSchema, MAX_LITELLM_CONFIG_BYTES, MAX_LITELLM_CONFIG_DEPTH } from "../../../shared/src/contracts/litellm";
import { errorResponses, jsonResponse, unwrap } from "../admin/openapi";
import type { GatewayBindings } from "../types";
import { auditProviderChange } from "./audit";
import { ownerOf } from "./owner";

const SECURITY: Record<string, string[]>[] = [{ AdminToken: [] }, { ApiKey: [] }];
const common = { tags: ["providers"], security: SECURITY };

const ImportPlan = ImportPlanSchema.openapi("LiteLLMImportPlan");
const LiteLLMConfig = LiteLLMExportSchema.openapi("LiteLLMConfig");

const importRoute = createRoute({
  ...common,
  method: "post",
  path: "/v1/config/litellm",
  summary: "Import a LiteLLM proxy config.yaml as providers and routes",
  description: [
    "The body is a LiteLLM proxy `config.yaml` (YAML, or JSON with `Content-Type: application/json`), at most 1 MiB.",
    "`model_list` deployments become providers (`litellm_params.model` is `<provider>/<model>`: openai, anthropic, gemini, azure, groq, mistral, together_ai, fireworks_ai, deepseek, xai, openrouter, perplexity, ollama, hosted_vllm, cloudflare (Workers AI), meta_llama, litellm_proxy) and model groups become routes with `router_settings` (routing_strategy, num_retries, timeout, allowed_fails, cooldown_time, fallbacks, context_window_fallbacks, content_policy_fallbacks, model_group_alias).",
    "`api_key: os.environ/NAME` reads the Worker secret NAME (admin token only) or names a credential already stored here (what the export writes); a plain key is stored encrypted.",
    "The answer is the plan: what is created, updated, deleted (rows an earlier import created that the file no longer names) or unchanged, and every key that was not applied (`unsupported`). `?dry_run=true` only plans. Importing the same file twice changes nothing.",
  ].join(" "),
  request: {
    query: z.object({ dry_run: z.enum(["true", "false"]).optional() }),
    body: {
      required: true,
      description: "The config.yaml (YAML; JSON with Content-Type: application/json is read the same way).",
      content: { "application/yaml": { schema: z.string() } },
    },
  },
  responses: { 200: jsonResponse(ImportPlan, "The plan (applied unless dry_run)"), ...errorResponses(400, 401, 403, 409, 503) },
});

const exportRoute = createRoute({
  ...common,
  method: "get",
  path: "/v1/config/litellm",
  summary: "Export your providers and routes as a LiteLLM proxy config",
  description:
    "YAML by default; JSON with `?format=json`. Credentials appear only as `os.environ/NAME` references, never their value; `model_info.gateway_provider` keeps provider names, so importing the export again changes nothing.",
  request: { query: z.object({ format: z.enum(["yaml", "json"]).optional() }) },
  responses: {
    200: { description: "The config", content: { "application/yaml": { schema: z.string() }, "application/json": { schema: LiteLLMConfig } } },
    ...errorResponses(401, 403, 503),
  },
});

export function registerLiteLLMRoutes(app: OpenAPIHono<GatewayBindings>): void {
  app.openapi(importRoute, async (c) => {
    const dryRun = c.req.valid("query").dry_run === "true";
    const doc = parseConfig(await c.req.text(), c.req.header("content-type") ?? "");
    const plan = unwrap(await c.env.PROVIDERS.importLiteLLM(ownerOf(c), doc, dryRun));
    if (!dryRun && plan.changed) {
      const names = (entries: { name: string; action: string }[], action: string) =>
        entries
          .filter((e) => e.action === action)
          .map((e) => e.name)
          .slice(0, 64);
      await auditProviderChange(c, {
        action: "config.litellm_import",
        target_type: "provider",
        target_id: "litellm",
        details: {
          providers_created: names(plan.providers, "create"),
          providers_updated: names(plan.providers, "update"),
          providers_deleted: names(plan.providers, "delete"),
          routes_created: names(plan.routes, "create"),
          routes_updated: names(plan.routes, "update"),
          routes_deleted: names(plan.routes, "delete"),
        },
      });
    }
    return c.json(plan, 200);
  });

  app.openapi(exportRoute, async (c) => {
    const config = unwrap(await c.env.PROVIDERS.exportLiteLLM(ownerOf(c)));
    if (c.req.valid("query").format === "json") return c.json(config, 200);
    return c.body(toYaml(config, { lineWidth: 0 }), 200, { "content-type": "application/yaml; charset=utf-8" });
  });
}

/**
 * The file as data: JSON for a JSON content type, YAML otherwise (YAML 1.2 reads JSON too). Bounded
 * in size, in aliases (no "billion laughs") and in depth; a syntax error is a 400 naming the line.
 */
function parseConfig(text: string, contentType: string): unknown {
  if (new TextEncoder().encode(text).byteLength > MAX_LITELLM_CONFIG_BYTES) {
    throw new ApiError({ code: "payload_too_large", message: `The config exceeds the limit of ${MAX_LITELLM_CONFIG_BYTES} bytes.` });
  }
  if (!text.trim())
    throw new ApiError({ code: "invalid_request", param: "$", message: "The config is empty: send a LiteLLM config.yaml with a 'model_list'." });
  let doc: unknown;
  if (/^application\/(?:[\w.+-]+\+)?json/i.test(contentType)) {
    try {
      doc = JSON.parse(text);
    } catch (err) {
      throw new ApiError({
        code: "invalid_json",
        param: "$",
        message: `The config is not valid JSON${err instanceof SyntaxError ? ` (${err.message})` : ""}.`,
      });
    }
  } else {
    try {
      doc = parseYaml(text, { maxAliasCount: 100, uniqueKeys: true, prettyErrors: true });
    } catch (err) {
      if (!(err instanceof YAMLParseError)) throw err;
      const at = err.linePos?.[0];
      const where = at ? `line ${at.line}, column ${at.col}` : "$";
      throw new ApiError({ code: "invalid_request", param: where, message: `The config is not valid YAML at ${where}: ${err.code}.` });
    }
  }
  if (depthOf(doc) > MAX_LITELLM_CONFIG_DEPTH) {
    throw new ApiError({ code: "invalid_request", param: "$", message: `The config nests deeper than ${MAX_LITELLM_CONFIG_DEPTH} levels.` });
  }
  return doc;
}

function depthOf(value: unknown, depth = 0): number {
  if (depth > MAX_LITELLM_CONFIG_DEPTH || value === null || typeof value !== "object") return depth;
  let deepest = depth + 1;
  for (const v of Array.isArray(value) ? value : Object.values(value)) deepest = Math.max(deepest, depthOf(v, depth + 1));
  return deepest;
}
