import { ApiError, type ProxyOperation } from "../../../../shared/src";
import type { ChatRequest } from "../chat-translation";
import type { AdapterContext, ProviderAdapter, Target } from "../types";
import { geminiChat } from "./chat";
import { geminiEmbeddings } from "./embeddings";

/**
 * Google providers (`type: "google"`, the Gemini API): OpenAI chat is translated to and from
 * `generateContent`/`streamGenerateContent`, embeddings go through `batchEmbedContents`. Gemini has
 * no legacy text-completions endpoint.
 */
export class GoogleAdapter implements ProviderAdapter {
  supports(operation: ProxyOperation): boolean {
    return operation === "chat" || operation === "embeddings";
  }

  call(operation: ProxyOperation, body: Record<string, unknown>, target: Target, ctx: AdapterContext): Promise<Response> {
    if (operation === "chat") return geminiChat(body as ChatRequest, target, ctx);
    if (operation === "embeddings") return geminiEmbeddings(body, target, ctx);
    throw new ApiError({ code: "invalid_request", message: `Provider '${target.provider.name}' (google) does not serve ${operation}.` });
  }
}
