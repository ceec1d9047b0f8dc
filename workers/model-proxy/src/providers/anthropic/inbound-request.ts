import type { ChatCompletionCreateParams } from "openai/resources/chat/completions";
import type { ContentBlock, MessagesRequest } from "../../../../shared/src/anthropic";
import { unsupportedParam } from "../chat-translation";

/**
 * Anthropic Messages request → OpenAI chat request, so a client of the gateway's `/v1/messages`
 * can be served by any provider that speaks OpenAI chat (directly, or through the Gemini adapter).
 *
 * Rules (tested in inbound-request.test.ts):
 * - `system` → one leading system message. `messages` keep their order; in a user turn the
 *   `tool_result` blocks become `tool` messages (before the turn's other content, as Anthropic
 *   orders them), with `is_error` results prefixed "Error: " since OpenAI has no error flag.
 * - Blocks: text → text parts; images (base64 → data URL, url → URL) → `image_url`; base64 PDFs →
 *   `file` parts, plain-text documents → text; `tool_use` → assistant `tool_calls` (input as JSON
 *   arguments). Thinking blocks are Anthropic's own signed reasoning and are not sent elsewhere.
 * - `max_tokens` → `max_tokens` (`max_completion_tokens` for OpenAI itself, see messages-bridge.ts);
 *   `stop_sequences` → `stop`; `temperature`, `top_p` as they are;
 *   `top_k` is passed on as the vendor extension it is for OpenAI-compatible servers (an upstream
 *   that does not know it answers its own 400 naming it), dropped for OpenAI itself, which refuses
 *   it (messages-bridge.ts); `metadata.user_id` → `user`.
 * - Tools → function tools; `tool_choice` auto/any/tool/none → auto/required/named/none;
 *   `disable_parallel_tool_use` → `parallel_tool_calls: false`.
 * - `thinking: enabled` → `reasoning_effort` by budget (≤ 4096 low, ≤ 16384 medium, else high);
 *   `adaptive`/`disabled` send nothing. `output_config.effort` → `reasoning_effort`;
 *   `output_config.format` → `response_format: json_schema`.
 * - Streams: the bridge asks the adapter for stream usage (`forceStreamUsage`), so each adapter
 *   requests it in the way its upstream accepts.
 * - Dropped (no effect on the answer): `cache_control` marks, `service_tier`, `speed`,
 *   `inference_geo`, unknown keys. Refused with 400 naming the param: server tools,
 *   `container`, `mcp_servers`, `context_management`, files by id, URL PDFs.
 */
export function toOpenAIChatRequest(body: MessagesRequest): ChatCompletionCreateParams & Record<string, unknown> {
  for (const param of ["container", "mcp_servers", "context_management"]) {
    if (body[param] !== undefined && body[param] !== null) {
      throw unsupportedParam(param, `'${param}' is only available when the model is served by Anthropic.`);
    }
  }
  const messages: Record<string, unknown>[] = [];
  if (typeof body.system === "string" && body.system) messages.push({ role: "system", content: body.system });
  else if (Array.isArray(body.system) && body.system.length > 0) {
    messages.push({ role: "system", content: body.system.map((b) => ({ type: "text", text: b.text })) });
  }

  body.messages.forEach((message, i) => {
    const at = `messages[${i}].content`;
    const blocks: ContentBlock[] = typeof message.content === "string" ? [{ type: "text", text: message.content }] : (message.content as ContentBlock[]);
    if (message.role === "assistant") messages.push(assistantMessage(blocks, at));
    else messages.push(...userMessages(blocks, at));
  });

  const out: Record<string, unknown> = { model: body.model, messages, max_tokens: body.max_tokens };
  if (body.stream === true) out["stream"] = true;
  if (body.temperature !== undefined) out["temperature"] = body.temperature;
  if (body.top_p !== undefined) out["top_p"] = body.top_p;
  if (body.top_k !== undefined) out["top_k"] = body.top_k;
  if (body.stop_sequences && body.stop_sequences.length > 0) out["stop"] = body.stop_sequences;
  if (body.metadata?.user_id) out["user"] = body.metadata.user_id;
  applyTools(body, out);
  applyReasoning(body, out);
  const format = body.output_config?.format;
  if (format) out["response_format"] = { type: "json_schema", json_schema: { name: "output", schema: format.schema, strict: true } };
  return out as ChatCompletionCreateParams & Record<string, unknown>;
}

function userMessages(blocks: ContentBlock[], at: string): Record<string, unknown>[] {
  const tools: Record<string, unknown>[] = [];
  const parts: Record<string, unknown>[] = [];
  blocks.forEach((block, j) => {
    const param = `${at}[${j}]`;
    switch (block.type) {
      case "tool_result": {
        const text = resultText(block["content"], param);
        tools.push({ role: "tool", tool_call_id: block["tool_use_id"], content: block["is_error"] === true ? `Error: ${text}` : text });
        break;
      }
      case "text":
        parts.push({ type: "text", text: block["text"] });
        break;
      case "image":
        parts.push(imagePart(block, param));
        break;
      case "document":
        parts.push(documentPart(block, param));
        break;
      case "thinking":
      case "redacted_thinking":
        break;
      default:
        throw unsupportedParam(`${param}.type`, `Content blocks of type '${block.type}' can only be sent to Anthropic.`);
    }
  });
  const out = [...tools];
  if (parts.length > 0) {
    const onlyText = parts.every((p) => p["type"] === "text");
    out.push({ role: "user", content: onlyText && parts.length === 1 ? parts[0]!["text"] : parts });
  }
  return out;
}

function assistantMessage(blocks: ContentBlock[], at: string): Record<string, unknown> {
  let text = "";
  const toolCalls: Record<string, unknown>[] = [];
  blocks.forEach((block, j) => {
    if (block.type === "text") text += String(block["text"]);
    else if (block.type === "tool_use") {
      toolCalls.push({ id: block["id"], type: "function", function: { name: block["name"], arguments: JSON.stringify(block["input"] ?? {}) } });
    } else if (block.type !== "thinking" && block.type !== "redacted_thinking") {
      throw unsupportedParam(`${at}[${j}].type`, `Content blocks of type '${block.type}' can only be sent to Anthropic.`);
    }
  });
  const message: Record<string, unknown> = { role: "assistant", content: text === "" && toolCalls.length > 0 ? null : text };
  if (toolCalls.length > 0) message["tool_calls"] = toolCalls;
  return message;
}

function resultText(content: unknown, param: string): string {
  if (content === undefined || content === null) return "";
  if (typeof content === "string") return content;
  return (content as ContentBlock[])
    .map((block, k) => {
      if (block.type === "text") return String(block["text"]);
      throw unsupportedParam(`${param}.content[${k}].type`, "Only text tool results can be sent to providers other than Anthropic.");
    })
    .join("\n");
}

function imagePart(block: ContentBlock, param: string): Record<string, unknown> {
  const source = block["source"] as { type: string; media_type?: string; data?: string; url?: string };
  if (source.type === "base64") return { type: "image_url", image_url: { url: `data:${source.media_type};base64,${source.data}` } };
  if (source.type === "url") return { type: "image_url", image_url: { url: source.url } };
  throw unsupportedParam(`${param}.source.type`, "Images by file id can only be sent to Anthropic.");
}

function documentPart(block: ContentBlock, param: string): Record<string, unknown> {
  const source = block["source"] as { type: string; media_type?: string; data?: string };
  if (source.type === "base64") return { type: "file", file: { filename: "document.pdf", file_data: `data:${source.media_type};base64,${source.data}` } };
  if (source.type === "text") return { type: "text", text: source.data };
  throw unsupportedParam(`${param}.source.type`, `Documents of source type '${source.type}' can only be sent to Anthropic.`);
}

function applyTools(body: MessagesRequest, out: Record<string, unknown>): void {
  if (body.tools && body.tools.length > 0) {
    out["tools"] = body.tools.map((tool, i) => {
      if (tool.type && tool.type !== "custom") {
        throw unsupportedParam(`tools[${i}].type`, `Anthropic server tools ('${tool.type}') can only be used when the model is served by Anthropic.`);
      }
      const fn: Record<string, unknown> = { name: tool.name, parameters: tool["input_schema"] };
      if (typeof tool["description"] === "string") fn["description"] = tool["description"];
      if (tool["strict"] === true) fn["strict"] = true;
      return { type: "function", function: fn };
    });
  }
  const choice = body.tool_choice;
  if (!choice) return;
  if (choice.type === "none") out["tool_choice"] = "none";
  else if (choice.type === "auto") out["tool_choice"] = "auto";
  else if (choice.type === "any") out["tool_choice"] = "required";
  else if (choice.type === "tool") out["tool_choice"] = { type: "function", function: { name: choice["name"] } };
  if (choice["disable_parallel_tool_use"] === true && out["tools"]) out["parallel_tool_calls"] = false;
}

function applyReasoning(body: MessagesRequest, out: Record<string, unknown>): void {
  const effort = body.output_config?.effort;
  if (typeof effort === "string") {
    out["reasoning_effort"] = effort;
    return;
  }
  const thinking = body.thinking;
  if (thinking?.type === "enabled") {
    const budget = Number(thinking["budget_tokens"]);
    out["reasoning_effort"] = budget <= 4096 ? "low" : budget <= 16384 ? "medium" : "high";
  }
}
