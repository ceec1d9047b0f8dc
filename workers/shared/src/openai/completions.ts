import { z } from "zod";
import { MAX_TOKENS_LIMIT } from "../model-output";
import {
  LogitBiasSchema,
  ModelNameSchema,
  PenaltySchema,
  SeedSchema,
  StopSchema,
  StreamOptionsSchema,
  TemperatureSchema,
  TopPSchema,
  UserSchema,
} from "./common";

const TokenIdsSchema = z.array(z.number().int().nonnegative());

/** A prompt: text, a batch of texts, token ids, or a batch of token id arrays. */
export const PromptSchema = z
  .union([z.string(), z.array(z.string()), TokenIdsSchema, z.array(TokenIdsSchema)])
  .meta({ description: "A string, an array of strings, an array of token ids, or an array of token-id arrays." });

/** `POST /v1/completions` (legacy text completions), after OpenAI's API reference. */
export const CompletionRequestSchema = z
  .looseObject({
    model: ModelNameSchema,
    prompt: PromptSchema.nullable(),
    best_of: z.number().int().min(0).max(20).nullable().optional(),
    echo: z.boolean().nullable().optional(),
    frequency_penalty: PenaltySchema.optional(),
    logit_bias: LogitBiasSchema.optional(),
    logprobs: z.number().int().min(0).max(5).nullable().optional(),
    // 0 is valid here (with `echo`, only the prompt comes back), unlike chat.
    max_tokens: z.number().int().min(0).max(MAX_TOKENS_LIMIT).nullable().optional(),
    n: z.number().int().min(1).max(128).nullable().optional(),
    presence_penalty: PenaltySchema.optional(),
    seed: SeedSchema.optional(),
    stop: StopSchema.optional(),
    stream: z.boolean().nullable().optional(),
    stream_options: StreamOptionsSchema.optional(),
    suffix: z.string().nullable().optional(),
    temperature: TemperatureSchema.optional(),
    top_p: TopPSchema.optional(),
    user: UserSchema.optional(),
  })
  .superRefine((req, ctx) => {
    if (req.stream_options && req.stream !== true) {
      ctx.addIssue({ code: "custom", path: ["stream_options"], message: "`stream_options` is only allowed when `stream` is true" });
    }
    if (req.best_of != null && req.n != null && req.best_of < req.n) {
      ctx.addIssue({ code: "custom", path: ["best_of"], message: "`best_of` must be greater than or equal to `n`" });
    }
  })
  .meta({ id: "CreateCompletionRequest", description: "OpenAI's legacy completion request." });

export type CompletionRequest = z.infer<typeof CompletionRequestSchema>;
