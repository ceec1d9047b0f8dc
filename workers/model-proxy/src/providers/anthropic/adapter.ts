import { ApiError, type ProxyOperation } from "../../../../shared/src";
import type { ChatRequest } from "../chat-translation";
import type { AdapterContext, ProviderAdapter, Target } from "../types";
import { anthropicChat } from "./chat";
import { anthropicCountTokens } from "./count-tokens";
import { anthropicMessages } from "./messages";

/**
 * Anthropic providers (`type: "anthropic"`): OpenAI chat is translated to and from the Messages
 * API, and the gateway's own `/v1/messages` passes through natively. Anthropic has no legacy
 * completions and no embeddings endpoint, so those are not offered (the router then answers that
 * the provider does not serve the operation).
 */
export class AnthropicAdapter implements ProviderAdapter {
  supports(operation: ProxyOperation): boolean {
    return operation === "chat" || operation === "messages";
  }

  call(operation: ProxyOperation, body: Record<string, unknown>, target: Target, ctx: AdapterContext): Promise<Response> {
    if (operation === "chat") return anthropicChat(body as ChatRequest, target, ctx);
    if (operation === "messages") return anthropicMessages(body, target, ctx);
    throw new ApiError({ code: "invalid_request", message: `Provider '${target.provider.name}' (anthropic) does not serve ${operation}.` });
  }

  /** Anthropic counts exactly: its own `/v1/messages/count_tokens`. */
  countMessageTokens(body: Record<string, unknown>, target: Target, ctx: AdapterContext): Promise<number> {
    return anthropicCountTokens(body, target, ctx);
  }
}
