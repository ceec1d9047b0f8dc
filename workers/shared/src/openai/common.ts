import { z } from "zod";
import { MAX_TOKENS_LIMIT } from "../model-output";

/**
 * Building blocks shared by OpenAI's request schemas. Objects are `looseObject`: fields OpenAI's
 * reference defines are type-checked here, and fields it does not define pass through untouched,
 * because OpenAI-compatible upstreams (vLLM `top_k`, OpenRouter `provider`, …) take extensions and
 * OpenAI itself answers unknown fields with its own 400, which the gateway relays unchanged.
 */

/** `model`: the client's model name, `<provider>/<model>` to pin a provider or a bare name/alias. */
export const ModelNameSchema = z.string().min(1).max(256).meta({
  description: "Model to use: `<provider>/<model>` pins a provider (e.g. `openai/gpt-4o`); a bare name or alias is resolved by the gateway's routes.",
  example: "openai/gpt-4o-mini",
});

/** Up to 4 stop sequences, or one string. */
export const StopSchema = z
  .union([z.string(), z.array(z.string()).min(1).max(4)])
  .nullable()
  .meta({ description: "Up to 4 sequences where the API will stop generating further tokens." });

/** OpenAI's metadata: up to 16 string pairs, keys ≤ 64 chars, values ≤ 512 chars. */
export const MetadataSchema = z
  .record(z.string().max(64), z.string().max(512))
  .refine((m) => Object.keys(m).length <= 16, { message: "metadata may hold at most 16 key-value pairs" })
  .nullable()
  .meta({ description: "Up to 16 key-value pairs (keys ≤ 64 chars, values ≤ 512 chars)." });

/** Token id → bias in [-100, 100]. */
export const LogitBiasSchema = z
  .record(z.string().regex(/^\d+$/, "keys must be token ids"), z.number().min(-100).max(100))
  .nullable()
  .meta({ description: "Maps token ids to a bias from -100 to 100." });

export const StreamOptionsSchema = z
  .looseObject({
    include_usage: z.boolean().optional().meta({ description: "Send a final chunk with the request's usage before `data: [DONE]`." }),
    include_obfuscation: z.boolean().optional(),
  })
  .nullable()
  .meta({ id: "StreamOptions", description: "Options for streamed responses. Only set this when `stream` is true." });

export const TemperatureSchema = z.number().min(0).max(2).nullable();
export const TopPSchema = z.number().min(0).max(1).nullable();
export const PenaltySchema = z.number().min(-2).max(2).nullable();
/** Any integer that fits a signed 64-bit seed as JSON carries it (a double). */
export const SeedSchema = z.number().int().nullable();
/** Bounded above any model's output, so reservations and costs stay exact integers (a 400 beyond). */
export const MaxTokensSchema = z.number().int().min(1).max(MAX_TOKENS_LIMIT).nullable();
export const UserSchema = z.string().meta({ description: "A stable identifier for your end user." });

/**
 * A string enum whose set of values grows with OpenAI's releases (reasoning efforts, service tiers).
 * It is documented with today's values but accepts any string, so a new value reaches the upstream
 * the day it ships instead of being refused by the gateway.
 */
export function openEnum(known: readonly string[], description: string) {
  return z
    .string()
    .min(1)
    .meta({ description: `${description} Known values: ${known.map((v) => `\`${v}\``).join(", ")}.`, examples: [...known] });
}
