import { z } from "zod";

/**
 * The create request of OpenAI's Responses API (`POST /v1/responses`) and of `/v1/agentic` (the
 * same plus `webhook` and `http_fetch` tools and `limits`), as this gateway supports it. Every
 * top-level field OpenAI defines that the engine does not implement is refused with a 400 naming
 * it (the schema is strict), never silently ignored. Everything a tenant controls is bounded here.
 */

/** Server caps: a client's value above a cap is lowered to it; absent values take the default. */
export const RUN_CAPS = {
  /** Model steps per response. */
  maxSteps: { default: 10, cap: 25 },
  /** Wall time of a run, from its creation (its Durable Object's alarm ends it `incomplete: timeout`). */
  timeoutMs: { default: 300_000, cap: 900_000 },
  /** One server-side tool call (MCP, webhook, fetch). */
  toolTimeoutMs: { default: 15_000, cap: 60_000 },
  /** Server-side tool calls per response (OpenAI's `max_tool_calls` counts these). */
  maxToolCalls: { default: 25, cap: 100 },
} as const;
/** The same tool called with identical arguments this many times in one run ends it `incomplete: loop_detected`. */
export const LOOP_REPEATS = 3;
/** Bytes of one tool's output passed to the model (and stored): longer output is cut, with a note. */
export const MAX_TOOL_OUTPUT_BYTES = 32 * 1024;
/** Events one response's log may hold: the run ends `failed` rather than grow past it. */
export const MAX_EVENTS = 4_000;
/** Output items one response may hold. */
export const MAX_OUTPUT_ITEMS = 200;

const text = (max: number) => z.string().max(max);
const Name = z.string().regex(/^[A-Za-z0-9_-]{1,64}$/, "must be 1-64 letters, digits, '_' or '-'");
const JsonSchemaObject = z.record(z.string(), z.unknown());
const Metadata = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, "at most 16 keys")
  .nullish();

const InputText = z.object({ type: z.literal("input_text"), text: text(1_000_000) });
const OutputText = z.object({ type: z.literal("output_text"), text: text(1_000_000), annotations: z.array(z.unknown()).max(0).optional() });
const Refusal = z.object({ type: z.literal("refusal"), refusal: text(100_000) });

const MessageItem = z.object({
  type: z.literal("message").optional(),
  id: z.string().max(128).optional(),
  role: z.enum(["user", "assistant", "system", "developer"]),
  content: z.union([text(1_000_000), z.array(z.discriminatedUnion("type", [InputText, OutputText, Refusal])).max(100)]),
  status: z.enum(["in_progress", "completed", "incomplete"]).optional(),
});
const FunctionCallItem = z.object({
  type: z.literal("function_call"),
  id: z.string().max(128).optional(),
  call_id: z.string().min(1).max(128),
  name: z.string().min(1).max(128),
  arguments: text(1_000_000),
  status: z.enum(["in_progress", "completed", "incomplete"]).optional(),
});
const FunctionCallOutputItem = z.object({
  type: z.literal("function_call_output"),
  id: z.string().max(128).nullish(),
  call_id: z.string().min(1).max(128),
  output: text(1_000_000),
  status: z.enum(["in_progress", "completed", "incomplete"]).nullish(),
});
const McpApprovalResponseItem = z.object({
  type: z.literal("mcp_approval_response"),
  id: z.string().max(128).nullish(),
  approval_request_id: z.string().min(1).max(128),
  approve: z.boolean(),
  reason: z.string().max(4_000).nullish(),
});

export const InputItemSchema = z.union([MessageItem, FunctionCallItem, FunctionCallOutputItem, McpApprovalResponseItem]);
export type InputItem = z.infer<typeof InputItemSchema>;

const FunctionTool = z.object({
  type: z.literal("function"),
  name: Name,
  description: z.string().max(4_000).nullish(),
  parameters: JsonSchemaObject.nullish(),
  strict: z.boolean().nullish(),
});
const ToolNames = z.array(z.string().max(128)).max(128);
const McpTool = z.object({
  type: z.literal("mcp"),
  server_label: Name,
  server_url: z.string().url().max(2_048),
  server_description: z.string().max(4_000).optional(),
  allowed_tools: z.union([ToolNames, z.object({ tool_names: ToolNames.optional() })]).nullish(),
  headers: z
    .record(z.string().max(128), z.string().max(4_096))
    .refine((h) => Object.keys(h).length <= 16, "at most 16 headers")
    .nullish(),
  require_approval: z
    .union([
      z.enum(["always", "never"]),
      z.object({ always: z.object({ tool_names: ToolNames.optional() }).optional(), never: z.object({ tool_names: ToolNames.optional() }).optional() }),
    ])
    .nullish(),
});
/** `/v1/agentic` only: a tool the gateway calls by POSTing its arguments, signed (Standard Webhooks). */
const WebhookTool = z.object({
  type: z.literal("webhook"),
  name: Name,
  description: z.string().max(4_000).nullish(),
  parameters: JsonSchemaObject.nullish(),
  url: z.string().url().max(2_048),
});
/**
 * `/v1/agentic` only: the built-in GET of a URL on the tenant's domain allow-list
 * (`PUT /v1/agentic/http_fetch/allowlist`), offered to the model as the function `http_fetch`.
 */
const HttpFetchTool = z.object({ type: z.literal("http_fetch") }).strict();
export const HTTP_FETCH_TOOL_NAME = "http_fetch";
const ResponsesTool = z.discriminatedUnion("type", [FunctionTool, McpTool]);
const AgenticTool = z.discriminatedUnion("type", [FunctionTool, McpTool, WebhookTool, HttpFetchTool]);
export type FunctionToolSpec = z.infer<typeof FunctionTool>;
export type McpToolSpec = z.infer<typeof McpTool>;
export type WebhookToolSpec = z.infer<typeof WebhookTool>;
export type HttpFetchToolSpec = z.infer<typeof HttpFetchTool>;
export type ToolSpec = FunctionToolSpec | McpToolSpec | WebhookToolSpec | HttpFetchToolSpec;

const TextFormat = z.discriminatedUnion("type", [
  z.object({ type: z.literal("text") }),
  z.object({ type: z.literal("json_object") }),
  z.object({
    type: z.literal("json_schema"),
    name: Name,
    schema: JsonSchemaObject,
    description: z.string().max(4_000).optional(),
    strict: z.boolean().nullish(),
  }),
]);

const ToolChoice = z.union([
  z.enum(["auto", "none", "required"]),
  z.object({ type: z.literal("function"), name: Name }).strict(),
  z.object({ type: z.literal("mcp"), server_label: Name, name: z.string().max(128).nullish() }).strict(),
]);

const common = {
  model: z.string().min(1).max(256),
  input: z.union([text(1_000_000), z.array(InputItemSchema).max(1_000)]),
  instructions: text(256_000).nullish(),
  tool_choice: ToolChoice.optional(),
  parallel_tool_calls: z.boolean().nullish(),
  max_output_tokens: z.number().int().min(16).max(1_000_000).nullish(),
  max_tool_calls: z.number().int().min(1).nullish(),
  previous_response_id: z.string().max(128).nullish(),
  store: z.boolean().nullish(),
  background: z.boolean().nullish(),
  stream: z.boolean().nullish(),
  metadata: Metadata,
  temperature: z.number().min(0).max(2).nullish(),
  top_p: z.number().min(0).max(1).nullish(),
  text: z.object({ format: TextFormat.optional() }).strict().nullish(),
  truncation: z.enum(["auto", "disabled"]).nullish(),
};

export const ResponsesCreateSchema = z.object({ ...common, tools: z.array(ResponsesTool).max(64).optional() }).strict();

/** `/v1/agentic`'s own limits (server caps in RUN_CAPS lower them). */
const Limits = z
  .object({
    max_steps: z.number().int().min(1).optional(),
    timeout_ms: z.number().int().min(1).optional(),
    tool_timeout_ms: z.number().int().min(1).optional(),
    max_total_tokens: z.number().int().min(1).optional(),
    max_cost_usd: z.number().positive().optional(),
  })
  .strict();

export const AgenticCreateSchema = z.object({ ...common, tools: z.array(AgenticTool).max(64).optional(), limits: Limits.optional() }).strict();

export type CreateRequest = z.infer<typeof AgenticCreateSchema>;
export type Surface = "responses" | "agentic";

/** The limits a run enforces: the client's values, lowered to the server caps. */
export interface RunLimits {
  maxSteps: number;
  timeoutMs: number;
  toolTimeoutMs: number;
  maxToolCalls: number;
  maxTotalTokens: number | null;
  maxCostUsd: number | null;
}

const capped = (value: number | null | undefined, c: { default: number; cap: number }) => Math.min(value ?? c.default, c.cap);

export function runLimits(req: CreateRequest): RunLimits {
  return {
    maxSteps: capped(req.limits?.max_steps, RUN_CAPS.maxSteps),
    timeoutMs: capped(req.limits?.timeout_ms, RUN_CAPS.timeoutMs),
    toolTimeoutMs: capped(req.limits?.tool_timeout_ms, RUN_CAPS.toolTimeoutMs),
    maxToolCalls: capped(req.max_tool_calls, RUN_CAPS.maxToolCalls),
    maxTotalTokens: req.limits?.max_total_tokens ?? null,
    maxCostUsd: req.limits?.max_cost_usd ?? null,
  };
}
