import { z } from "zod";
import { GATEWAY_HEADERS } from "../proxy/headers";

export { isProxyEnvelope, parseProxyRequest, ProxyRequestSchema, type ProxyRequest } from "../proxy/request";
export type { ProxyOperation } from "../proxy/operations";

/**
 * model-proxy's answer to a token count (`/v1/messages/count_tokens`): Anthropic's `input_tokens`,
 * whether the upstream counted it (`exact`) or it is the gateway's estimate, and which provider and
 * upstream model it is for (the first target of the model's resolution).
 */
export interface MessageTokenCount {
  input_tokens: number;
  exact: boolean;
  provider: string;
  model: string;
}

/**
 * One upstream a model name may be served by, as model-proxy's `routeTargets` tells the gateway:
 * the gateway reserves a limited key's request at the most expensive target's price and the
 * largest target's output (an alias costs what it may be served by, not what its own name costs).
 */
export interface RouteTarget {
  /** The provider's name, as `x-gateway-provider` reports it. */
  provider: string;
  /** The provider's type (`openai`, `anthropic`, …): which maximum-tokens field it reads. */
  type: string;
  /** The upstream model name, as `x-gateway-model` reports it. */
  model: string;
}

/**
 * Internal answer header (model-proxy → gateway; the gateway never passes it on): the attempts the
 * router gave up on by its own timeout after sending them. An upstream that received a request
 * has begun inference and bills it even though nothing came back (OpenAI and Anthropic bill a
 * cancelled request for what it processed; a non-streamed one runs to completion), so the gateway
 * meters each as its own usage event. Failures the upstream answered (4xx/5xx/429) or could not
 * be reached for are not billed and not listed.
 */
export const ABANDONED_ATTEMPTS_HEADER = GATEWAY_HEADERS.abandonedAttempts;

/** One abandoned attempt: its 1-based position among the request's attempts, provider and model. */
export const AbandonedAttemptSchema = z.object({ attempt: z.number().int().min(1).max(16), provider: z.string().max(256), model: z.string().max(256) });
export type AbandonedAttempt = z.infer<typeof AbandonedAttemptSchema>;
const AbandonedAttemptsSchema = z.array(AbandonedAttemptSchema).max(16);

/** URI-encoded JSON: model names may hold characters a header value cannot. */
export function encodeAbandonedAttempts(attempts: readonly AbandonedAttempt[]): string {
  return encodeURIComponent(JSON.stringify(attempts));
}

/** The header's attempts; none for a missing or malformed header (it is internal, never the client's). */
export function decodeAbandonedAttempts(value: string | null): AbandonedAttempt[] {
  if (!value) return [];
  try {
    const parsed = AbandonedAttemptsSchema.safeParse(JSON.parse(decodeURIComponent(value)));
    return parsed.success ? parsed.data : [];
  } catch {
    return [];
  }
}
