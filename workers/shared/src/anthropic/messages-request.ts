import { z } from "zod";
import { MAX_TOKENS_LIMIT } from "../model-output";

/**
 * `POST /v1/messages` request (Anthropic's Messages API), as the gateway validates it before it
 * reaches any provider. Like the OpenAI schemas, objects are loose: fields this schema names are
 * type-checked (a bad one is a 400 naming its `param`, e.g. `messages[0].content[1].source`), and
 * fields Anthropic adds later pass through to Anthropic upstreams untouched. Content block types
 * are an open set for the same reason; the ones the gateway must understand to translate for
 * other providers are checked in full.
 */

const CacheControlSchema = z
  .looseObject({ type: z.literal("ephemeral"), ttl: z.string().optional() })
  .nullable()
  .optional();

export const TextBlockSchema = z.looseObject({ type: z.literal("text"), text: z.string(), cache_control: CacheControlSchema });

const ImageSourceSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("base64"), media_type: z.enum(["image/jpeg", "image/png", "image/gif", "image/webp"]), data: z.string() }),
  z.looseObject({ type: z.literal("url"), url: z.string().min(1) }),
  z.looseObject({ type: z.literal("file"), file_id: z.string() }),
]);
const DocumentSourceSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("base64"), media_type: z.literal("application/pdf"), data: z.string() }),
  z.looseObject({ type: z.literal("text"), media_type: z.literal("text/plain"), data: z.string() }),
  z.looseObject({ type: z.literal("url"), url: z.string().min(1) }),
  z.looseObject({ type: z.literal("content"), content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]) }),
  z.looseObject({ type: z.literal("file"), file_id: z.string() }),
]);

const KNOWN_BLOCKS: Record<string, z.ZodType> = {
  text: TextBlockSchema,
  image: z.looseObject({ type: z.literal("image"), source: ImageSourceSchema, cache_control: CacheControlSchema }),
  document: z.looseObject({ type: z.literal("document"), source: DocumentSourceSchema, cache_control: CacheControlSchema }),
  tool_use: z.looseObject({ type: z.literal("tool_use"), id: z.string().min(1), name: z.string().min(1), input: z.record(z.string(), z.unknown()) }),
  tool_result: z.looseObject({
    type: z.literal("tool_result"),
    tool_use_id: z.string().min(1),
    content: z.union([z.string(), z.array(z.looseObject({ type: z.string() }))]).optional(),
    is_error: z.boolean().optional(),
    cache_control: CacheControlSchema,
  }),
  thinking: z.looseObject({ type: z.literal("thinking"), thinking: z.string(), signature: z.string().optional() }),
  redacted_thinking: z.looseObject({ type: z.literal("redacted_thinking"), data: z.string() }),
};

/** A content block: known types checked in full, others (server tools, newer types) passed on. */
export const ContentBlockSchema = z.looseObject({ type: z.string().min(1) }).superRefine((block, ctx) => {
  const schema = KNOWN_BLOCKS[block.type];
  if (!schema) return;
  const result = schema.safeParse(block);
  if (!result.success) for (const issue of result.error.issues) ctx.addIssue({ ...issue } as never);
});

export const MessageParamSchema = z.looseObject({
  role: z.enum(["user", "assistant"]),
  content: z.union([z.string(), z.array(ContentBlockSchema)]),
});

export const ToolSchema = z.looseObject({ name: z.string().min(1).max(128), type: z.string().nullable().optional() }).superRefine((tool, ctx) => {
  // A custom (client) tool needs its input schema; server tools (`type: web_search_…`) have none.
  if (
    (tool.type === undefined || tool.type === null || tool.type === "custom") &&
    (typeof tool["input_schema"] !== "object" || tool["input_schema"] === null)
  ) {
    ctx.addIssue({ code: "invalid_type", expected: "object", input: tool["input_schema"], path: ["input_schema"], message: "expected object" } as never);
  }
});

export const ToolChoiceSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("auto"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("any"), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("tool"), name: z.string().min(1), disable_parallel_tool_use: z.boolean().optional() }),
  z.looseObject({ type: z.literal("none") }),
]);

export const ThinkingSchema = z.discriminatedUnion("type", [
  z.looseObject({ type: z.literal("enabled"), budget_tokens: z.number().int().min(1).max(MAX_TOKENS_LIMIT) }),
  z.looseObject({ type: z.literal("disabled") }),
  z.looseObject({ type: z.literal("adaptive") }),
]);

export const MessagesRequestSchema = z
  .looseObject({
    model: z.string().min(1).max(256),
    max_tokens: z.number().int().min(0).max(MAX_TOKENS_LIMIT),
    messages: z.array(MessageParamSchema).min(1),
    system: z.union([z.string(), z.array(TextBlockSchema)]).optional(),
    metadata: z.looseObject({ user_id: z.string().nullable().optional() }).optional(),
    stop_sequences: z.array(z.string()).optional(),
    stream: z.boolean().optional(),
    temperature: z.number().min(0).max(1).optional(),
    top_p: z.number().min(0).max(1).optional(),
    top_k: z.number().int().min(0).optional(),
    tools: z.array(ToolSchema).optional(),
    tool_choice: ToolChoiceSchema.optional(),
    thinking: ThinkingSchema.optional(),
    output_config: z
      .looseObject({
        effort: z.string().nullable().optional(),
        format: z
          .looseObject({ type: z.literal("json_schema"), schema: z.record(z.string(), z.unknown()) })
          .nullable()
          .optional(),
      })
      .optional(),
    service_tier: z.string().optional(),
  })
  .meta({ id: "CreateMessageRequest", description: "Anthropic's Messages API request." });

export type MessagesRequest = z.infer<typeof MessagesRequestSchema>;

/**
 * `POST /v1/messages/count_tokens` request (Anthropic's `MessageCountTokensParams`): what would be
 * sent to `/v1/messages` minus the fields that shape generation (`max_tokens`, `stream`,
 * sampling, `stop_sequences`, `metadata`), which Anthropic's endpoint does not take. The same
 * content checks as a Messages request, so what counts is what could be sent.
 */
export const MessagesCountTokensRequestSchema = MessagesRequestSchema.omit({
  max_tokens: true,
  stream: true,
  temperature: true,
  top_p: true,
  top_k: true,
  stop_sequences: true,
  metadata: true,
  service_tier: true,
}).meta({ id: "CountMessageTokensRequest", description: "Anthropic's token-counting request: a Messages request without its generation settings." });

export type MessagesCountTokensRequest = z.infer<typeof MessagesCountTokensRequestSchema>;

/** `POST /v1/messages/count_tokens` answer (Anthropic's `MessageTokensCount`). */
export const MessageTokensCountSchema = z
  .object({ input_tokens: z.number().int().min(0).describe("Tokens in the messages, system prompt and tools, as the model would be billed for them.") })
  .meta({ id: "MessageTokensCount" });
export type ContentBlock = z.infer<typeof ContentBlockSchema> & Record<string, unknown>;

/** `anthropic-version` is a date (`2023-06-01`); which dates exist is Anthropic's to say. */
export const ANTHROPIC_VERSION_FORMAT = /^\d{4}-\d{2}-\d{2}$/;
