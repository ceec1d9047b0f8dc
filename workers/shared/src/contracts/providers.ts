import { z } from "zod";

/**
 * Providers and routes: what the management API (`/v1/providers`, `/v1/routes`) accepts and
 * returns, and what the gateway and model-proxy exchange over RPC to manage them. model-proxy owns
 * the D1 `proxy` database and is the only caller of the secrets Worker; the gateway only forwards.
 */

/** Provider kinds. OpenAI-compatible vendors are presets over one shared adapter, not copies. */
export const PROVIDER_TYPES = [
  "openai",
  "openai-compatible",
  "azure-openai",
  "groq",
  "together",
  "mistral",
  "deepseek",
  "fireworks",
  "openrouter",
  "xai",
  "perplexity",
  "ollama",
  "vllm",
  "anthropic",
  "google",
  "workers-ai",
  "meta-llama",
  "litellm-proxy",
] as const;
export const ProviderTypeSchema = z.enum(PROVIDER_TYPES);
export type ProviderKind = z.infer<typeof ProviderTypeSchema>;

/**
 * Defaults per type. `baseUrl: null` means the user must give one (`openai-compatible` is any
 * endpoint; `azure-openai` is the resource URL). `keyless` types run without a credential (local
 * inference servers usually have none).
 */
export const PROVIDER_PRESETS: Record<ProviderKind, { baseUrl: string | null; keyless: boolean }> = {
  openai: { baseUrl: "https://api.openai.com/v1", keyless: false },
  "openai-compatible": { baseUrl: null, keyless: true },
  "azure-openai": { baseUrl: null, keyless: false },
  groq: { baseUrl: "https://api.groq.com/openai/v1", keyless: false },
  together: { baseUrl: "https://api.together.xyz/v1", keyless: false },
  mistral: { baseUrl: "https://api.mistral.ai/v1", keyless: false },
  deepseek: { baseUrl: "https://api.deepseek.com/v1", keyless: false },
  fireworks: { baseUrl: "https://api.fireworks.ai/inference/v1", keyless: false },
  openrouter: { baseUrl: "https://openrouter.ai/api/v1", keyless: false },
  xai: { baseUrl: "https://api.x.ai/v1", keyless: false },
  perplexity: { baseUrl: "https://api.perplexity.ai", keyless: false },
  ollama: { baseUrl: "http://localhost:11434/v1", keyless: true },
  vllm: { baseUrl: "http://localhost:8000/v1", keyless: true },
  anthropic: { baseUrl: "https://api.anthropic.com/v1", keyless: false },
  google: { baseUrl: "https://generativelanguage.googleapis.com/v1beta", keyless: false },
  // Cloudflare's OpenAI-compatible endpoint is per account: `account_id` fills in WORKERS_AI_BASE_URL.
  "workers-ai": { baseUrl: null, keyless: false },
  // Meta's Llama API, its OpenAI-compatible endpoint.
  "meta-llama": { baseUrl: "https://api.llama.com/compat/v1", keyless: false },
  // A LiteLLM proxy as an upstream (OpenAI's API at its own URL; its virtual keys are optional).
  "litellm-proxy": { baseUrl: null, keyless: true },
};

/** Workers AI's OpenAI-compatible root for one Cloudflare account. */
export const workersAiBaseUrl = (accountId: string): string => `https://api.cloudflare.com/client/v4/accounts/${accountId}/ai/v1`;
/** A Cloudflare account id: 32 hex characters. */
export const CloudflareAccountIdSchema = z.string().regex(/^[0-9a-f]{32}$/, "must be a Cloudflare account id (32 hex characters)");

/** Azure OpenAI's `api-version` when none is configured (a GA version). */
export const AZURE_DEFAULT_API_VERSION = "2024-10-21";

/**
 * A provider name is the first segment of a pinned model (`<name>/<model>`), so it has no `/`.
 * Lower-case so that `OpenAI/gpt-4o` and `openai/gpt-4o` cannot name two different providers.
 */
export const ProviderNameSchema = z
  .string()
  .regex(/^[a-z0-9][a-z0-9._-]{0,62}$/, "must be 1-63 characters of a-z, 0-9, '.', '_' or '-', starting with a letter or digit");

/**
 * Headers that must not be set through `headers`: credentials belong in `api_key` (which is
 * encrypted; headers are stored as configuration), and transport headers are the gateway's.
 */
const FORBIDDEN_HEADERS = new Set([
  "authorization",
  "proxy-authorization",
  "api-key",
  "x-api-key",
  "x-goog-api-key",
  "cookie",
  "host",
  "content-length",
  "content-type",
  "content-encoding",
  "transfer-encoding",
  "connection",
  "keep-alive",
  "upgrade",
  "te",
  "trailer",
  "accept-encoding",
  "x-request-id",
]);
const HEADER_NAME = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]{1,128}$/;

export const ProviderHeadersSchema = z
  .record(
    z.string(),
    z
      .string()
      .max(4096)
      .regex(/^[^\r\n\0]*$/, "must not contain CR, LF or NUL"),
  )
  .superRefine((headers, ctx) => {
    const names = Object.keys(headers);
    if (names.length > 32) ctx.addIssue({ code: "custom", message: "at most 32 headers are allowed" });
    for (const name of names) {
      const lower = name.toLowerCase();
      if (!HEADER_NAME.test(name)) ctx.addIssue({ code: "custom", path: [name], message: "is not a valid header name" });
      else if (FORBIDDEN_HEADERS.has(lower) || lower.startsWith("x-gateway-") || lower.startsWith("cf-")) {
        ctx.addIssue({
          code: "custom",
          path: [name],
          message: "cannot be set here; put the credential in 'api_key' (stored encrypted), transport headers are set by the gateway",
        });
      }
    }
  });

const ModelsSchema = z.array(z.string().min(1).max(256)).max(1000);
/** What a provider's `models` means, for the OpenAPI document (create and update). */
const MODELS_DESCRIPTION =
  "The upstream models this provider serves (at most 1000). It is both what GET /v1/models lists for the provider (each as `<name>/<model>`, and bare where no earlier provider lists the name) and an allow-list: `<name>/<model>` for any other model is a 404 `model_not_found` naming the models the provider serves. Absent or null: every model is passed through as `<name>/<model>`, and GET /v1/models lists none of them (list the ones you use to make them discoverable).";
const ApiKeySchema = z
  .string()
  .min(1)
  .max(8192)
  .regex(/^[^\r\n\0]*$/, "must not contain CR, LF or NUL");
const TimeoutSchema = z.number().int().min(100).max(600_000);
const ApiVersionSchema = z.string().regex(/^[0-9A-Za-z._-]{1,64}$/, "is not a valid api-version");

export const ProviderCreateSchema = z
  .object({
    name: ProviderNameSchema,
    type: ProviderTypeSchema,
    /** The upstream API root (e.g. `https://api.openai.com/v1`); defaults to the type's preset. */
    base_url: z.string().max(2048).optional(),
    api_key: ApiKeySchema.optional(),
    /** Upstream models this provider serves: what GET /v1/models lists, and an allow-list. */
    models: ModelsSchema.nullable().optional().describe(MODELS_DESCRIPTION),
    headers: ProviderHeadersSchema.optional(),
    /** Per-attempt timeout for this provider's calls (a route's own timeout wins). */
    timeout_ms: TimeoutSchema.optional(),
    /** Azure OpenAI `api-version`. */
    api_version: ApiVersionSchema.optional(),
    /** Workers AI: the Cloudflare account whose endpoint to use (sets `base_url`). */
    account_id: CloudflareAccountIdSchema.optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export type ProviderCreate = z.infer<typeof ProviderCreateSchema>;

/**
 * PATCH: every field optional. A change that moves a provider with a stored credential to another
 * host (`base_url`, or a `type` whose default URL differs) must carry its `api_key` again: the
 * stored key was given for the old host and is never sent to a new one.
 */
export const ProviderUpdateSchema = z
  .object({
    api_key: ApiKeySchema.optional().describe(
      "A new credential, stored encrypted (replacing the old one). Required when the change moves the provider to another host (scheme, host or port of its base URL); otherwise POST /v1/providers/{id}/rotate does the same.",
    ),
    name: ProviderNameSchema.optional(),
    type: ProviderTypeSchema.optional(),
    base_url: z.string().max(2048).nullable().optional(),
    models: ModelsSchema.nullable().optional().describe(MODELS_DESCRIPTION),
    headers: ProviderHeadersSchema.optional(),
    timeout_ms: TimeoutSchema.nullable().optional(),
    api_version: ApiVersionSchema.nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export type ProviderUpdate = z.infer<typeof ProviderUpdateSchema>;

export const ProviderRotateSchema = z.object({ api_key: ApiKeySchema }).strict();
export const ProviderTestSchema = z
  .object({
    model: z
      .string()
      .min(1)
      .max(256)
      .optional()
      .describe("The upstream model to call (without the provider's name). Default: the provider's first listed model; required when it lists none."),
  })
  .strict();

export const OwnerSchema = z.enum(["platform", "tenant"]);
export type Owner = z.infer<typeof OwnerSchema>;

/** What the API returns for a provider. Never the credential: only its last four characters. */
export const ProviderViewSchema = z.object({
  id: z.string(),
  object: z.literal("provider"),
  owner: OwnerSchema,
  name: z.string(),
  type: ProviderTypeSchema,
  /** The effective upstream root (the preset's when none was given). */
  base_url: z.string().nullable(),
  models: z.array(z.string()).nullable(),
  headers: z.record(z.string(), z.string()),
  timeout_ms: z.number().int().nullable(),
  api_version: z.string().nullable(),
  enabled: z.boolean(),
  has_api_key: z.boolean(),
  /** Last four characters of the credential (null for short or absent credentials). */
  last4: z.string().nullable(),
  /** Unix seconds of the last store/rotation of the credential. */
  rotated_at: z.number().int().nullable(),
  created_at: z.number().int(),
  updated_at: z.number().int(),
});
export type ProviderView = z.infer<typeof ProviderViewSchema>;

/**
 * The outcome of `POST /v1/providers/{id}/test`. Only facts the gateway established: whether the
 * upstream answered, its HTTP status, and an error in the gateway's own words. Never the upstream's
 * body or message: the URL is the caller's choice, and the test must not become a way to read
 * whatever some host answers.
 */
export const ProviderTestReportSchema = z.object({
  object: z.literal("provider.test"),
  id: z.string(),
  ok: z.boolean(),
  model: z.string(),
  latency_ms: z.number(),
  /** The upstream sent an HTTP answer (any status). */
  reachable: z.boolean(),
  /** The upstream's HTTP status; null when it was not reached (refused URL, network error, timeout). */
  status: z.number().int().nullable(),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
});
export type ProviderTestReport = z.infer<typeof ProviderTestReportSchema>;

/**
 * `least-busy` prefers the target with the fewest requests in flight (in this isolate), and
 * `usage-based` the one with the fewest tokens used this minute (shared, exact: a Durable Object),
 * LiteLLM's `least-busy` and `usage-based-routing-v2`.
 */
export const ROUTE_STRATEGIES = ["fallback", "weighted", "least-latency", "least-busy", "usage-based"] as const;
export const RouteStrategySchema = z.enum(ROUTE_STRATEGIES);
export type RouteStrategy = z.infer<typeof RouteStrategySchema>;

/** A public model name: what clients send as `model`. May contain `/` (it then wins over a pinned provider). */
export const RouteNameSchema = z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._:/@+-]{0,127}$/, "must be 1-128 characters of letters, digits and . _ : / @ + -");

export const RouteTargetSchema = z
  .object({
    provider: ProviderNameSchema,
    model: z.string().min(1).max(256),
    /** Relative share for `weighted` (default 1). */
    weight: z.number().positive().max(1_000_000).optional(),
  })
  .strict();
export type RouteTarget = z.infer<typeof RouteTargetSchema>;

export const RouteCreateSchema = z
  .object({
    name: RouteNameSchema,
    strategy: RouteStrategySchema.optional(),
    targets: z.array(RouteTargetSchema).min(1).max(16),
    /** Retries of the same target before moving to the next (default 1). */
    retries: z.number().int().min(0).max(5).optional(),
    /** Per-attempt timeout; for streams, until the first byte. */
    timeout_ms: TimeoutSchema.optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export type RouteCreate = z.infer<typeof RouteCreateSchema>;

export const RouteUpdateSchema = z
  .object({
    name: RouteNameSchema.optional(),
    strategy: RouteStrategySchema.optional(),
    targets: z.array(RouteTargetSchema).min(1).max(16).optional(),
    retries: z.number().int().min(0).max(5).optional(),
    timeout_ms: TimeoutSchema.nullable().optional(),
    enabled: z.boolean().optional(),
  })
  .strict();
export type RouteUpdate = z.infer<typeof RouteUpdateSchema>;

export const DEFAULT_ROUTE_RETRIES = 1;

export const RouteViewSchema = z.object({
  id: z.string(),
  object: z.literal("route"),
  owner: OwnerSchema,
  name: z.string(),
  strategy: RouteStrategySchema,
  targets: z.array(z.object({ provider: z.string(), model: z.string(), weight: z.number() })),
  retries: z.number().int(),
  timeout_ms: z.number().int().nullable(),
  enabled: z.boolean(),
  created_at: z.number().int(),
  updated_at: z.number().int(),
});
export type RouteView = z.infer<typeof RouteViewSchema>;

export const DeletedViewSchema = z.object({ id: z.string(), object: z.enum(["provider", "route"]), deleted: z.literal(true) });
export type DeletedView = z.infer<typeof DeletedViewSchema>;

export const listOf = <T extends z.ZodType>(item: T) => z.object({ object: z.literal("list"), data: z.array(item) });
export interface ListView<T> {
  object: "list";
  data: T[];
}

/**
 * Who a management call acts for. The gateway decides (admin token → platform, proven by its signed
 * admin context; a tenant key → tenant, by its principal token) and model-proxy verifies either
 * token itself before acting.
 */
export type OwnerRef = { kind: "platform"; adminToken: string } | { kind: "tenant"; principalToken: string };

/** What the secrets Worker tells about a stored credential (never the plaintext). */
export interface CredentialInfo {
  ref: string;
  /** Master key version the credential's data key is wrapped under. */
  version: string;
  provider: string;
  last4: string | null;
  /** Epoch ms of the last store or rotation. */
  rotated_at: number;
}

export const RewrapRequestSchema = z
  .object({
    /** From the previous page's answer; absent to start. */
    cursor: z.string().max(4096).nullable().optional(),
    limit: z.number().int().min(1).max(1000).optional(),
  })
  .strict();

export const RewrapSummarySchema = z.object({
  object: z.literal("credentials.rewrap"),
  /** Re-wrapped under the current master key by this call. */
  rewrapped: z.number().int(),
  /** Already under the current master key. */
  current: z.number().int(),
  failed: z.array(z.object({ ref: z.string(), error: z.string() })),
  /** Pass back as `cursor` to continue; null when every credential has been visited. */
  cursor: z.string().nullable(),
});
export type RewrapSummary = z.infer<typeof RewrapSummarySchema>;
