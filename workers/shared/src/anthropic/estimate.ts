import { mediaPartTokens, tokensForText } from "../openai/estimate";

/** The least an image/document block counts (Anthropic's largest image before resizing); more when its data is larger. */
const MEDIA_BLOCK_TOKENS = 1600;
const MESSAGE_OVERHEAD = 4;

function blocksTokens(content: unknown): number {
  if (typeof content === "string") return tokensForText(content);
  if (!Array.isArray(content)) return 0;
  let total = 0;
  for (const block of content as Record<string, unknown>[]) {
    if (typeof block?.["text"] === "string") total += tokensForText(block["text"]);
    else if (block?.["type"] === "tool_use") total += tokensForText(JSON.stringify(block["input"] ?? {}));
    else if (block?.["type"] === "tool_result") total += blocksTokens(block["content"]);
    else if (typeof block?.["thinking"] === "string") total += tokensForText(block["thinking"]);
    else total += mediaPartTokens(block, MEDIA_BLOCK_TOKENS);
  }
  return total;
}

/** Estimated prompt tokens of a Messages request (system, messages, tools), for the limiter's reservation. */
export function estimateMessagesPromptTokens(body: { system?: unknown; messages?: unknown; tools?: unknown }): number {
  let total = blocksTokens(body.system);
  if (Array.isArray(body.messages)) {
    for (const m of body.messages as { content?: unknown }[]) total += MESSAGE_OVERHEAD + blocksTokens(m?.content);
  }
  if (body.tools !== undefined) total += tokensForText(JSON.stringify(body.tools));
  return total;
}
