import { z } from "zod";
import { ProviderTypeSchema, RouteStrategySchema } from "./providers";

/**
 * `POST /v1/config/litellm` (import a LiteLLM proxy config.yaml) and `GET /v1/config/litellm`
 * (export): what the gateway and model-proxy exchange and what the API answers.
 */

/** Largest config file accepted (YAML or JSON): far above a real config with hundreds of deployments. */
export const MAX_LITELLM_CONFIG_BYTES = 1024 * 1024;
/** Deepest nesting of a parsed config (real ones nest < 8). */
export const MAX_LITELLM_CONFIG_DEPTH = 32;

const ActionSchema = z.enum(["create", "update", "unchanged", "delete"]);

export const UnsupportedSchema = z.object({
  /** Where in the file (`router_settings.redis_host`, `model_list[2].litellm_params.aws_region_name`). */
  path: z.string(),
  reason: z.string(),
});
export type Unsupported = z.infer<typeof UnsupportedSchema>;

export const ImportPlanSchema = z.object({
  object: z.literal("litellm.import"),
  dry_run: z.boolean(),
  /** Whether applying the file changes anything (false: importing it again is a no-op). */
  changed: z.boolean(),
  providers: z.array(
    z.object({
      name: z.string(),
      type: ProviderTypeSchema,
      base_url: z.string().nullable(),
      action: ActionSchema,
      /** Fields that change (names only; `api_key` when the credential does, never its value). */
      changes: z.array(z.string()),
    }),
  ),
  routes: z.array(
    z.object({
      name: z.string(),
      strategy: RouteStrategySchema,
      deployments: z.array(z.object({ provider: z.string(), model: z.string() })),
      action: ActionSchema,
      changes: z.array(z.string()),
    }),
  ),
  /** Every key of the file that was not applied, and why. */
  unsupported: z.array(UnsupportedSchema),
});
export type ImportPlan = z.infer<typeof ImportPlanSchema>;

export const LiteLLMExportSchema = z.object({
  model_list: z.array(
    z.object({
      model_name: z.string(),
      litellm_params: z.record(z.string(), z.union([z.string(), z.number()])),
      model_info: z.record(z.string(), z.union([z.string(), z.number()])),
    }),
  ),
  router_settings: z.record(z.string(), z.unknown()),
});
export type LiteLLMExport = z.infer<typeof LiteLLMExportSchema>;
