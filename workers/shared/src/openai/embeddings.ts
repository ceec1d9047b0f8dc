import { z } from "zod";
import { ModelNameSchema, UserSchema } from "./common";

const TokenIdsSchema = z.array(z.number().int().nonnegative());

/** `POST /v1/embeddings`, after OpenAI's API reference (max 2048 inputs per request). */
export const EmbeddingRequestSchema = z
  .looseObject({
    model: ModelNameSchema,
    input: z
      .union([z.string(), z.array(z.string()).min(1).max(2048), TokenIdsSchema.min(1), z.array(TokenIdsSchema.min(1)).min(1).max(2048)])
      .meta({ description: "Text or tokens to embed: a string, an array of strings, an array of token ids, or an array of token-id arrays." }),
    dimensions: z.number().int().min(1).optional().meta({ description: "Number of dimensions of the output (text-embedding-3 and later)." }),
    encoding_format: z.enum(["float", "base64"]).optional().meta({ description: "`float` (default) or `base64` (little-endian float32)." }),
    user: UserSchema.optional(),
  })
  .meta({ id: "CreateEmbeddingRequest", description: "OpenAI's embeddings request." });

export type EmbeddingRequest = z.infer<typeof EmbeddingRequestSchema>;
