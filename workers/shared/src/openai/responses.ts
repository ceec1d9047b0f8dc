import { z } from "zod";

/**
 * Response shapes, for `/openapi.json` and for tests. The gateway never re-serialises an upstream
 * answer through these: bytes pass through as the upstream sent them.
 */

export const UsageSchema = z
  .looseObject({
    prompt_tokens: z.number().int(),
    completion_tokens: z.number().int().optional(),
    total_tokens: z.number().int(),
    prompt_tokens_details: z.looseObject({ cached_tokens: z.number().int().optional(), audio_tokens: z.number().int().optional() }).nullable().optional(),
    completion_tokens_details: z
      .looseObject({
        reasoning_tokens: z.number().int().optional(),
        audio_tokens: z.number().int().optional(),
        accepted_prediction_tokens: z.number().int().optional(),
        rejected_prediction_tokens: z.number().int().optional(),
      })
      .nullable()
      .optional(),
  })
  .meta({ id: "Usage" });

const LogprobsSchema = z.looseObject({ content: z.array(z.unknown()).nullable(), refusal: z.array(z.unknown()).nullable().optional() }).nullable();

const ToolCallSchema = z.looseObject({
  id: z.string(),
  type: z.string(),
  function: z.looseObject({ name: z.string(), arguments: z.string() }).optional(),
});

export const ChatCompletionSchema = z
  .looseObject({
    id: z.string(),
    object: z.literal("chat.completion"),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.looseObject({
        index: z.number().int(),
        message: z.looseObject({
          role: z.literal("assistant"),
          content: z.string().nullable(),
          refusal: z.string().nullable().optional(),
          tool_calls: z.array(ToolCallSchema).optional(),
          annotations: z.array(z.unknown()).optional(),
        }),
        logprobs: LogprobsSchema.optional(),
        finish_reason: z.string().nullable(),
      }),
    ),
    usage: UsageSchema.optional(),
    service_tier: z.string().nullable().optional(),
    system_fingerprint: z.string().nullable().optional(),
  })
  .meta({
    id: "ChatCompletion",
    description: "A chat completion. With `stream: true`, the body is instead `text/event-stream` of `ChatCompletionChunk`s ending in `data: [DONE]`.",
  });

export const ChatCompletionChunkSchema = z
  .looseObject({
    id: z.string(),
    object: z.literal("chat.completion.chunk"),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(
      z.looseObject({
        index: z.number().int(),
        delta: z.looseObject({
          role: z.string().optional(),
          content: z.string().nullable().optional(),
          refusal: z.string().nullable().optional(),
          tool_calls: z
            .array(
              z.looseObject({
                index: z.number().int(),
                id: z.string().optional(),
                type: z.string().optional(),
                function: z.looseObject({ name: z.string().optional(), arguments: z.string().optional() }).optional(),
              }),
            )
            .optional(),
        }),
        logprobs: LogprobsSchema.optional(),
        finish_reason: z.string().nullable(),
      }),
    ),
    usage: UsageSchema.nullable().optional(),
  })
  .meta({ id: "ChatCompletionChunk", description: "One `data:` event of a streamed chat completion." });

export const CompletionSchema = z
  .looseObject({
    id: z.string(),
    object: z.literal("text_completion"),
    created: z.number().int(),
    model: z.string(),
    choices: z.array(z.looseObject({ index: z.number().int(), text: z.string(), logprobs: z.unknown().nullable(), finish_reason: z.string().nullable() })),
    usage: UsageSchema.optional(),
    system_fingerprint: z.string().optional(),
  })
  .meta({ id: "Completion" });

export const EmbeddingListSchema = z
  .looseObject({
    object: z.literal("list"),
    data: z.array(
      z.looseObject({
        object: z.literal("embedding"),
        index: z.number().int(),
        embedding: z
          .union([z.array(z.number()), z.string()])
          .meta({ description: "Floats, or a base64 string of little-endian float32 with `encoding_format: base64`." }),
      }),
    ),
    model: z.string(),
    usage: z.looseObject({ prompt_tokens: z.number().int(), total_tokens: z.number().int() }),
  })
  .meta({ id: "EmbeddingList" });

export const ModelSchema = z
  .object({
    id: z.string().meta({ example: "openai/gpt-4o-mini" }),
    object: z.literal("model"),
    created: z.number().int(),
    owned_by: z.string(),
  })
  .meta({ id: "Model" });

export const ModelListSchema = z.object({ object: z.literal("list"), data: z.array(ModelSchema) }).meta({ id: "ModelList" });
export type Model = z.infer<typeof ModelSchema>;
