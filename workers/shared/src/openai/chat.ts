import { z } from "zod";
import {
  LogitBiasSchema,
  MaxTokensSchema,
  MetadataSchema,
  ModelNameSchema,
  PenaltySchema,
  SeedSchema,
  StopSchema,
  StreamOptionsSchema,
  TemperatureSchema,
  TopPSchema,
  UserSchema,
  openEnum,
} from "./common";

/**
 * `POST /v1/chat/completions` request, after OpenAI's API reference. Discriminators (`role`,
 * content part `type`, tool `type`, `response_format.type`) are closed sets: an unknown one is a
 * 400 naming its path, as OpenAI answers. See common.ts for why other fields pass through.
 */

const CacheBreakpointSchema = z.looseObject({ mode: z.literal("explicit") });

export const TextPartSchema = z
  .looseObject({ type: z.literal("text"), text: z.string(), prompt_cache_breakpoint: CacheBreakpointSchema.optional() })
  .meta({ id: "ChatContentPartText" });

export const ImagePartSchema = z
  .looseObject({
    type: z.literal("image_url"),
    image_url: z.looseObject({
      url: z.string().min(1).meta({ description: "An https URL or a `data:` URL with base64 image data." }),
      detail: z.enum(["auto", "low", "high"]).optional(),
    }),
    prompt_cache_breakpoint: CacheBreakpointSchema.optional(),
  })
  .meta({ id: "ChatContentPartImage" });

export const InputAudioPartSchema = z
  .looseObject({
    type: z.literal("input_audio"),
    input_audio: z.looseObject({ data: z.string(), format: z.enum(["wav", "mp3"]) }),
    prompt_cache_breakpoint: CacheBreakpointSchema.optional(),
  })
  .meta({ id: "ChatContentPartInputAudio" });

export const FilePartSchema = z
  .looseObject({
    type: z.literal("file"),
    file: z.looseObject({ file_data: z.string().optional(), file_id: z.string().optional(), filename: z.string().optional() }),
    prompt_cache_breakpoint: CacheBreakpointSchema.optional(),
  })
  .meta({ id: "ChatContentPartFile" });

export const RefusalPartSchema = z.looseObject({ type: z.literal("refusal"), refusal: z.string() }).meta({ id: "ChatContentPartRefusal" });

export const UserContentPartSchema = z.discriminatedUnion("type", [TextPartSchema, ImagePartSchema, InputAudioPartSchema, FilePartSchema]);
const AssistantContentPartSchema = z.discriminatedUnion("type", [TextPartSchema, RefusalPartSchema]);

const textContent = z.union([z.string(), z.array(TextPartSchema)]);
const NameSchema = z.string().min(1).optional();

const FunctionToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal("function"),
  function: z.looseObject({ name: z.string(), arguments: z.string() }),
});
const CustomToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.literal("custom"),
  custom: z.looseObject({ name: z.string(), input: z.string() }),
});

export const SystemMessageSchema = z.looseObject({ role: z.literal("system"), content: textContent, name: NameSchema }).meta({ id: "ChatSystemMessage" });
export const DeveloperMessageSchema = z
  .looseObject({ role: z.literal("developer"), content: textContent, name: NameSchema })
  .meta({ id: "ChatDeveloperMessage" });
export const UserMessageSchema = z
  .looseObject({ role: z.literal("user"), content: z.union([z.string(), z.array(UserContentPartSchema)]), name: NameSchema })
  .meta({ id: "ChatUserMessage" });
export const AssistantMessageSchema = z
  .looseObject({
    role: z.literal("assistant"),
    content: z
      .union([z.string(), z.array(AssistantContentPartSchema)])
      .nullable()
      .optional(),
    refusal: z.string().nullable().optional(),
    name: NameSchema,
    audio: z.looseObject({ id: z.string() }).nullable().optional(),
    tool_calls: z.array(z.discriminatedUnion("type", [FunctionToolCallSchema, CustomToolCallSchema])).optional(),
    function_call: z.looseObject({ name: z.string(), arguments: z.string() }).nullable().optional(),
  })
  .meta({ id: "ChatAssistantMessage" });
export const ToolMessageSchema = z.looseObject({ role: z.literal("tool"), content: textContent, tool_call_id: z.string() }).meta({ id: "ChatToolMessage" });
export const FunctionMessageSchema = z
  .looseObject({ role: z.literal("function"), content: z.string().nullable(), name: z.string() })
  .meta({ id: "ChatFunctionMessage", description: "Deprecated in favour of tool messages." });

export const ChatMessageSchema = z.discriminatedUnion("role", [
  SystemMessageSchema,
  DeveloperMessageSchema,
  UserMessageSchema,
  AssistantMessageSchema,
  ToolMessageSchema,
  FunctionMessageSchema,
]);
export type ChatMessage = z.infer<typeof ChatMessageSchema>;

const FunctionNameSchema = z.string().regex(/^[a-zA-Z0-9_-]{1,64}$/, "must be a-z, A-Z, 0-9, underscores or dashes, at most 64 characters");

export const FunctionDefinitionSchema = z
  .looseObject({
    name: FunctionNameSchema,
    description: z.string().optional(),
    parameters: z.record(z.string(), z.unknown()).optional().meta({ description: "JSON Schema of the arguments." }),
    strict: z.boolean().nullable().optional(),
  })
  .meta({ id: "FunctionDefinition" });

export const FunctionToolSchema = z.looseObject({ type: z.literal("function"), function: FunctionDefinitionSchema }).meta({ id: "ChatFunctionTool" });
export const CustomToolSchema = z
  .looseObject({
    type: z.literal("custom"),
    custom: z.looseObject({
      name: z.string(),
      description: z.string().optional(),
      format: z
        .discriminatedUnion("type", [
          z.looseObject({ type: z.literal("text") }),
          z.looseObject({
            type: z.literal("grammar"),
            grammar: z.looseObject({ definition: z.string(), syntax: z.enum(["lark", "regex"]) }),
          }),
        ])
        .optional(),
    }),
  })
  .meta({ id: "ChatCustomTool" });
export const ToolSchema = z.discriminatedUnion("type", [FunctionToolSchema, CustomToolSchema]);

export const ToolChoiceSchema = z
  .union([
    z.enum(["none", "auto", "required"]),
    z.discriminatedUnion("type", [
      z.looseObject({ type: z.literal("function"), function: z.looseObject({ name: z.string() }) }),
      z.looseObject({ type: z.literal("custom"), custom: z.looseObject({ name: z.string() }) }),
      z.looseObject({
        type: z.literal("allowed_tools"),
        allowed_tools: z.looseObject({ mode: z.enum(["auto", "required"]), tools: z.array(z.record(z.string(), z.unknown())) }),
      }),
    ]),
  ])
  .meta({ id: "ChatToolChoice", description: "`none`, `auto`, `required`, a named function/custom tool, or an allowed-tools set." });

export const ResponseFormatSchema = z
  .discriminatedUnion("type", [
    z.looseObject({ type: z.literal("text") }),
    z.looseObject({ type: z.literal("json_object") }),
    z.looseObject({
      type: z.literal("json_schema"),
      json_schema: z.looseObject({
        name: FunctionNameSchema,
        description: z.string().optional(),
        schema: z.record(z.string(), z.unknown()).optional(),
        strict: z.boolean().nullable().optional(),
      }),
    }),
  ])
  .meta({ id: "ResponseFormat", description: "`text`, `json_object` (JSON mode) or `json_schema` (Structured Outputs)." });

export const ChatCompletionRequestSchema = z
  .looseObject({
    model: ModelNameSchema,
    messages: z.array(ChatMessageSchema).min(1).meta({ description: "The conversation so far." }),
    audio: z
      .looseObject({ format: z.string(), voice: z.union([z.string(), z.looseObject({ id: z.string() })]) })
      .nullable()
      .optional(),
    frequency_penalty: PenaltySchema.optional(),
    function_call: z.union([z.enum(["none", "auto"]), z.looseObject({ name: z.string() })]).optional(),
    functions: z.array(FunctionDefinitionSchema).min(1).max(128).optional(),
    logit_bias: LogitBiasSchema.optional(),
    logprobs: z.boolean().nullable().optional(),
    max_completion_tokens: MaxTokensSchema.optional().meta({ description: "Upper bound of generated tokens, reasoning tokens included." }),
    max_tokens: MaxTokensSchema.optional().meta({ description: "Deprecated in favour of `max_completion_tokens`." }),
    metadata: MetadataSchema.optional(),
    modalities: z.array(z.string()).nullable().optional(),
    moderation: z.looseObject({ model: z.string() }).nullable().optional(),
    n: z.number().int().min(1).max(128).nullable().optional().meta({ description: "Number of choices to generate (1–128)." }),
    parallel_tool_calls: z.boolean().optional(),
    prediction: z
      .looseObject({ type: z.literal("content"), content: textContent })
      .nullable()
      .optional(),
    presence_penalty: PenaltySchema.optional(),
    prompt_cache_key: z.string().nullable().optional(),
    prompt_cache_options: z.looseObject({ mode: z.enum(["implicit", "explicit"]).optional(), ttl: z.string().optional() }).optional(),
    prompt_cache_retention: openEnum(["in_memory", "24h"], "Prompt cache retention.").nullable().optional(),
    reasoning_effort: openEnum(["none", "minimal", "low", "medium", "high", "xhigh", "max"], "Reasoning effort.").nullable().optional(),
    response_format: ResponseFormatSchema.optional(),
    safety_identifier: z.string().nullable().optional(),
    seed: SeedSchema.optional(),
    service_tier: openEnum(["auto", "default", "flex", "scale", "priority"], "Service tier.").nullable().optional(),
    stop: StopSchema.optional(),
    store: z.boolean().nullable().optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: StreamOptionsSchema.optional(),
    temperature: TemperatureSchema.optional(),
    tool_choice: ToolChoiceSchema.optional(),
    tools: z.array(ToolSchema).max(128).optional(),
    top_logprobs: z.number().int().min(0).max(20).nullable().optional(),
    top_p: TopPSchema.optional(),
    user: UserSchema.optional(),
    verbosity: openEnum(["low", "medium", "high"], "Response verbosity.").nullable().optional(),
    web_search_options: z
      .looseObject({
        search_context_size: z.enum(["low", "medium", "high"]).optional(),
        user_location: z
          .looseObject({ type: z.literal("approximate"), approximate: z.record(z.string(), z.string()) })
          .nullable()
          .optional(),
      })
      .optional(),
  })
  .superRefine((req, ctx) => {
    if (req.top_logprobs !== undefined && req.top_logprobs !== null && req.logprobs !== true) {
      ctx.addIssue({ code: "custom", path: ["top_logprobs"], message: "`logprobs` must be true when `top_logprobs` is set" });
    }
    if (req.stream_options && req.stream !== true) {
      ctx.addIssue({ code: "custom", path: ["stream_options"], message: "`stream_options` is only allowed when `stream` is true" });
    }
  })
  .meta({ id: "CreateChatCompletionRequest", description: "OpenAI's chat completion request." });

export type ChatCompletionRequest = z.infer<typeof ChatCompletionRequestSchema>;
