import type { ContentBlockParam, MessageCreateParamsBase, MessageParam, TextBlockParam, Tool, ToolChoice } from "@anthropic-ai/sdk/resources/messages";
import { parseDataUrl, parseToolArguments, requestedMaxTokens, stopSequences, textOf, unsupportedParam, type ChatRequest } from "../chat-translation";

/**
 * OpenAI chat request → Anthropic Messages request.
 *
 * Rules for what has no exact Anthropic equivalent (documented here, tested in chat-request.test.ts):
 * - `system` and `developer` messages, wherever they appear, are joined in order into Anthropic's
 *   top-level `system` (Anthropic has no system turns inside the conversation).
 * - `max_tokens` is required by Anthropic. Without `max_tokens`/`max_completion_tokens` the gateway
 *   asks for 8192 on Claude 3.5 and later, 4096 on Claude 3 and unknown models (see
 *   `defaultMaxTokens`). A response cut there ends with `finish_reason: "length"`.
 * - `temperature` is passed through within Anthropic's range 0–1; above 1 (valid for OpenAI) is a 400
 *   naming `temperature` rather than a silently rescaled value. `top_p` passes through.
 * - `user` (and `safety_identifier`) become `metadata.user_id`.
 * - `tool_choice`: `none`→`none`, `auto`→`auto`, `required`→`any`, a named function→`tool`;
 *   `parallel_tool_calls: false` → `disable_parallel_tool_use: true`.
 * - `reasoning_effort` low…max → `output_config.effort`; `none`/`minimal` have no equivalent → 400.
 * - `tool_choice: allowed_tools` → only the allowed tools are sent, with `auto`/`any`.
 * - A part's `prompt_cache_breakpoint` → `cache_control: {type: "ephemeral"}` on that block.
 * - `response_format: json_schema` → `output_config.format` (Anthropic structured outputs);
 *   `json_object` has no equivalent (a schema would have to be invented) → 400.
 * - Dropped as having no effect on the answer's meaning: `seed` (best-effort at OpenAI too),
 *   `store`, OpenAI `metadata`, `service_tier`, `prompt_cache_key`, zero-valued penalties,
 *   `prompt_cache_retention`, `logprobs: false`, `n: 1`, message `name`s, unknown vendor keys.
 * - Refused with 400 naming the param: `n` > 1, `logprobs`/`top_logprobs`, non-zero
 *   `presence_penalty`/`frequency_penalty`, `logit_bias`, `audio`/`modalities` other than text,
 *   `prediction`, `web_search_options`, `verbosity`, `moderation`, legacy `functions`/`function_call`, custom (non-function)
 *   tools, audio input, files by id.
 */

/** Anthropic's request with the sampling fields the SDK version we build against no longer types. */
export type AnthropicRequest = MessageCreateParamsBase & {
  temperature?: number;
  top_p?: number;
  top_k?: number;
  stream?: boolean;
};

/**
 * `max_tokens` when the client sets none. Every Claude model since 3.5 accepts 8192 output tokens
 * and the Claude 3 models 4096. A larger default (a model's full ceiling) would make long prompts
 * fail validation (prompt + max_tokens must fit the context window on several models) and make
 * non-streamed calls run for many minutes, so clients that want more ask for it explicitly.
 */
export const FALLBACK_MAX_TOKENS = 4_096;
const CLAUDE_3_DEFAULT = 4_096;
const CLAUDE_DEFAULT = 8_192;

export function defaultMaxTokens(model: string): number {
  if (/^claude-3-(opus|sonnet|haiku)\b/.test(model)) return CLAUDE_3_DEFAULT;
  if (/^claude-/.test(model)) return CLAUDE_DEFAULT;
  return FALLBACK_MAX_TOKENS;
}

const IMAGE_TYPES = new Set(["image/jpeg", "image/png", "image/gif", "image/webp"]);

type OpenAIPart = {
  type: string;
  text?: string;
  prompt_cache_breakpoint?: unknown;
  refusal?: string;
  image_url?: { url: string; detail?: string };
  file?: { file_data?: string; file_id?: string; filename?: string };
};
type OpenAIToolCall = { id: string; type: string; function?: { name: string; arguments: string } };
type OpenAIMessage = {
  role: string;
  content?: string | OpenAIPart[] | null;
  tool_calls?: OpenAIToolCall[];
  tool_call_id?: string;
};

export function toAnthropicRequest(body: ChatRequest, model: string): AnthropicRequest {
  rejectUnsupported(body);

  const system: TextBlockParam[] = [];
  const messages: MessageParam[] = [];
  const push = (role: "user" | "assistant", blocks: ContentBlockParam[]) => {
    if (blocks.length === 0) return;
    const last = messages[messages.length - 1];
    // Anthropic wants alternating turns; adjacent same-role turns (e.g. tool results followed by a
    // user message) are merged, with tool results kept first as the API requires.
    if (last && last.role === role && Array.isArray(last.content)) last.content.push(...blocks);
    else messages.push({ role, content: blocks });
  };

  (body.messages as OpenAIMessage[]).forEach((message, i) => {
    const at = `messages[${i}]`;
    switch (message.role) {
      case "system":
      case "developer":
        system.push(...textBlocks(message.content));
        break;
      case "user":
        push("user", userBlocks(message.content, `${at}.content`));
        break;
      case "assistant":
        push("assistant", assistantBlocks(message, at));
        break;
      case "tool":
        push("user", [
          {
            type: "tool_result",
            tool_use_id: message.tool_call_id ?? "",
            content: typeof message.content === "string" ? message.content : textOf(message.content),
          },
        ]);
        break;
      default:
        throw unsupportedParam(`${at}.role`, `Messages with role '${message.role}' are not supported by Anthropic providers; use 'tool' messages.`);
    }
  });

  const request: AnthropicRequest = {
    model,
    messages,
    max_tokens: requestedMaxTokens(body) ?? defaultMaxTokens(model),
  };
  if (system.length > 0) request.system = system;
  if (body.stream === true) request.stream = true;

  const temperature = body.temperature;
  if (typeof temperature === "number") {
    if (temperature > 1) {
      throw unsupportedParam("temperature", `Invalid value for 'temperature': Anthropic providers accept 0 to 1, got ${temperature}.`);
    }
    request.temperature = temperature;
  }
  if (typeof body.top_p === "number") request.top_p = body.top_p;
  applyReasoningEffort(body, request);
  const stops = stopSequences(body.stop);
  if (stops) request.stop_sequences = stops;

  const userId = (body.user ?? body.safety_identifier) as unknown;
  if (typeof userId === "string" && userId) request.metadata = { user_id: userId };

  applyTools(body, request);
  applyResponseFormat(body, request);
  return request;
}

function rejectUnsupported(body: ChatRequest): void {
  const set = (v: unknown) => v !== undefined && v !== null;
  if (set(body.n) && body.n !== 1) throw unsupportedParam("n", "Anthropic providers return one choice; 'n' must be 1.");
  if (body.logprobs === true || set(body.top_logprobs)) {
    throw unsupportedParam(body.logprobs === true ? "logprobs" : "top_logprobs", "Anthropic providers do not return log probabilities.");
  }
  for (const param of ["presence_penalty", "frequency_penalty"] as const) {
    if (set(body[param]) && body[param] !== 0) {
      throw unsupportedParam(param, `Anthropic providers do not support '${param}'.`);
    }
  }
  if (set(body.logit_bias) && Object.keys(body.logit_bias as object).length > 0) {
    throw unsupportedParam("logit_bias", "Anthropic providers do not support 'logit_bias'.");
  }
  if (set(body.audio)) throw unsupportedParam("audio", "Anthropic providers do not produce audio.");
  if (Array.isArray(body.modalities) && body.modalities.some((m) => m !== "text")) {
    throw unsupportedParam("modalities", "Anthropic providers produce text only.");
  }
  for (const param of ["prediction", "web_search_options", "functions", "function_call", "verbosity", "moderation"] as const) {
    if (set(body[param])) throw unsupportedParam(param, `Anthropic providers do not support '${param}'.`);
  }
}

function userBlocks(content: OpenAIMessage["content"], at: string): ContentBlockParam[] {
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content)) return [];
  return content.map((part, j): ContentBlockParam => {
    const param = `${at}[${j}]`;
    switch (part.type) {
      case "text":
        return withCacheBreakpoint(part, { type: "text", text: part.text ?? "" });
      case "image_url":
        return withCacheBreakpoint(part, imageBlock(part.image_url?.url ?? "", `${param}.image_url.url`));
      case "file":
        return withCacheBreakpoint(part, fileBlock(part.file ?? {}, `${param}.file`));
      default:
        throw unsupportedParam(`${param}.type`, `Content parts of type '${part.type}' are not supported by Anthropic providers.`);
    }
  });
}

/** System/developer content as text blocks, keeping explicit cache breakpoints. */
function textBlocks(content: OpenAIMessage["content"]): TextBlockParam[] {
  if (typeof content === "string") return content === "" ? [] : [{ type: "text", text: content }];
  if (!Array.isArray(content)) return [];
  return content.filter((part) => (part.text ?? "") !== "").map((part) => withCacheBreakpoint(part, { type: "text", text: part.text! }));
}

/**
 * OpenAI's explicit `prompt_cache_breakpoint` on a part is the same idea as Anthropic's
 * `cache_control` on a block: the prefix up to here is cached.
 */
function withCacheBreakpoint<B extends ContentBlockParam>(part: OpenAIPart, block: B): B {
  if (part.prompt_cache_breakpoint) (block as { cache_control?: unknown }).cache_control = { type: "ephemeral" };
  return block;
}

function imageBlock(url: string, param: string): ContentBlockParam {
  const inline = parseDataUrl(url);
  if (inline) {
    if (!IMAGE_TYPES.has(inline.mediaType)) {
      throw unsupportedParam(param, `Anthropic providers accept JPEG, PNG, GIF and WebP images, not '${inline.mediaType}'.`);
    }
    return {
      type: "image",
      source: { type: "base64", media_type: inline.mediaType as "image/png", data: inline.data },
    };
  }
  if (/^https?:\/\//i.test(url)) return { type: "image", source: { type: "url", url } };
  throw unsupportedParam(param, "Images must be an https URL or a base64 data URL.");
}

function fileBlock(file: NonNullable<OpenAIPart["file"]>, param: string): ContentBlockParam {
  if (file.file_data) {
    const inline = parseDataUrl(file.file_data);
    if (inline?.mediaType === "application/pdf") {
      return { type: "document", source: { type: "base64", media_type: "application/pdf", data: inline.data } };
    }
    throw unsupportedParam(`${param}.file_data`, "Anthropic providers accept files as base64 PDF data URLs only.");
  }
  throw unsupportedParam(`${param}.file_id`, "Files referenced by id cannot be sent to Anthropic providers; send file_data.");
}

function assistantBlocks(message: OpenAIMessage, at: string): ContentBlockParam[] {
  const blocks: ContentBlockParam[] = [];
  const text = textOf(message.content);
  if (text) blocks.push({ type: "text", text });
  (message.tool_calls ?? []).forEach((call, k) => {
    if (call.type !== "function" || !call.function) {
      throw unsupportedParam(`${at}.tool_calls[${k}].type`, "Only function tool calls are supported by Anthropic providers.");
    }
    blocks.push({
      type: "tool_use",
      id: call.id,
      name: call.function.name,
      input: parseToolArguments(call.function.arguments, `${at}.tool_calls[${k}].function.arguments`),
    });
  });
  return blocks;
}

type OpenAITool = {
  type: string;
  function?: { name: string; description?: string; parameters?: Record<string, unknown>; strict?: boolean | null };
};

function applyTools(body: ChatRequest, request: AnthropicRequest): void {
  const tools = (body.tools as OpenAITool[] | undefined) ?? [];
  if (tools.length > 0) {
    request.tools = tools.map((tool, i): Tool => {
      if (tool.type !== "function" || !tool.function) {
        throw unsupportedParam(`tools[${i}].type`, `Tools of type '${tool.type}' are not supported by Anthropic providers.`);
      }
      const fn = tool.function;
      const out: Tool = {
        name: fn.name,
        input_schema: (fn.parameters ?? { type: "object", properties: {} }) as Tool["input_schema"],
      };
      if (fn.description) out.description = fn.description;
      if (fn.strict === true) out.strict = true;
      return out;
    });
  }

  const choice = body.tool_choice as
    | string
    | { type: string; function?: { name: string }; allowed_tools?: { mode: string; tools: { type?: string; function?: { name?: string } }[] } }
    | undefined;
  const noParallel = body.parallel_tool_calls === false;
  let toolChoice: ToolChoice | undefined;
  if (choice && typeof choice === "object" && choice.type === "allowed_tools" && choice.allowed_tools) {
    // Restricting the callable set is expressed by sending only those tools.
    const allowed = new Set(choice.allowed_tools.tools.map((t) => t.function?.name).filter(Boolean));
    request.tools = (request.tools ?? []).filter((t) => allowed.has((t as Tool).name));
    toolChoice = { type: choice.allowed_tools.mode === "required" ? "any" : "auto" };
  } else if (choice === "none") toolChoice = { type: "none" };
  else if (choice === "auto") toolChoice = { type: "auto" };
  else if (choice === "required") toolChoice = { type: "any" };
  else if (choice && typeof choice === "object") {
    if (choice.type !== "function" || !choice.function?.name) {
      throw unsupportedParam("tool_choice", "Anthropic providers support tool_choice 'none', 'auto', 'required' or a named function.");
    }
    toolChoice = { type: "tool", name: choice.function.name };
  }
  if (tools.length === 0) {
    // No tools: a tool_choice other than "none" cannot mean anything; Anthropic rejects it too.
    if (toolChoice && toolChoice.type !== "none") {
      throw unsupportedParam("tool_choice", "'tool_choice' is only allowed when 'tools' are specified.");
    }
    return;
  }
  if (noParallel && toolChoice?.type !== "none") {
    toolChoice = { ...(toolChoice ?? { type: "auto" }), disable_parallel_tool_use: true } as ToolChoice;
  }
  if (toolChoice) request.tool_choice = toolChoice;
}

/** Anthropic's `output_config.effort` takes OpenAI's effort names from `low` up; below that has no equivalent. */
const EFFORTS = new Set(["low", "medium", "high", "xhigh", "max"]);

function applyReasoningEffort(body: ChatRequest, request: AnthropicRequest): void {
  const effort = body.reasoning_effort as string | null | undefined;
  if (effort === undefined || effort === null) return;
  if (!EFFORTS.has(effort)) {
    throw unsupportedParam("reasoning_effort", `Anthropic providers accept reasoning_effort low, medium, high, xhigh or max, not '${effort}'.`);
  }
  request.output_config = { ...request.output_config, effort: effort as "low" };
}

function applyResponseFormat(body: ChatRequest, request: AnthropicRequest): void {
  const format = body.response_format as { type: string; json_schema?: { schema?: Record<string, unknown> } } | undefined;
  if (!format || format.type === "text") return;
  if (format.type === "json_schema" && format.json_schema?.schema) {
    request.output_config = { ...request.output_config, format: { type: "json_schema", schema: format.json_schema.schema } };
    return;
  }
  throw unsupportedParam("response_format", `response_format '${format.type}' is not supported by Anthropic providers; use 'json_schema' with a schema.`);
}
