import { parseDataUrl, parseToolArguments, requestedMaxTokens, stopSequences, textOf, unsupportedParam, type ChatRequest } from "../chat-translation";
import type { GeminiContent, GeminiPart, GeminiRequest } from "./api";

/**
 * OpenAI chat request → Gemini `generateContent` request.
 *
 * Rules for what has no exact Gemini equivalent (documented here, tested in chat-request.test.ts):
 * - `system`/`developer` messages, wherever they appear, are joined in order into
 *   `systemInstruction` (Gemini has no system turns inside `contents`).
 * - Roles: `user` → `user`, `assistant` → `model`, `tool` → a `user` turn of `functionResponse`
 *   parts. Gemini needs the function's name in a response; it is looked up from the assistant
 *   tool call with the same id. A tool result that is a JSON object is sent as the response
 *   object; any other text as `{"content": "<text>"}`.
 * - Images: data URLs → `inlineData`; https URLs → `fileData` with the MIME type taken from the
 *   file extension (400 when it has none Gemini reads). Audio input and base64 files (PDF…) →
 *   `inlineData`. Files by id → 400.
 * - Thought signatures that Gemini attached to function calls come back to the client in the
 *   tool call's `extra_content.google.thought_signature` (as Google's own OpenAI endpoint does)
 *   and are returned to Gemini from there, which Gemini 3 requires for multi-turn tool use.
 * - Tools → `functionDeclarations` with the JSON Schema as `parametersJsonSchema` (no lossy
 *   conversion to Gemini's OpenAPI subset). `tool_choice`: `none`→`NONE`, `auto`→`AUTO`,
 *   `required`→`ANY`, a named function → `ANY` restricted to it, `allowed_tools` → `AUTO`/`ANY`
 *   restricted to them.
 * - `response_format`: `json_object` → `responseMimeType: application/json`; `json_schema` → the
 *   same plus `responseJsonSchema`.
 * - `reasoning_effort`: Gemini 3 models → `thinkingLevel` (minimal/low/medium/high); earlier
 *   thinking models → `thinkingBudget` as Google maps it (none 0, minimal/low 1024, medium 8192,
 *   high 24576). `xhigh`/`max` → 400.
 * - Passed through: `temperature`, `top_p`, `n` (`candidateCount`), `max_tokens`/
 *   `max_completion_tokens`, `stop`, `presence_penalty`, `frequency_penalty`, `seed`.
 * - Dropped as having no effect on the answer's meaning: `user`, `safety_identifier`, `store`,
 *   OpenAI `metadata`, `service_tier`, `prompt_cache_*`, `logprobs: false`, message `name`s,
 *   unknown vendor keys.
 * - Refused with 400 naming the param: `logprobs`/`top_logprobs`, `logit_bias`,
 *   `parallel_tool_calls: false` (Gemini cannot be held to one call), `audio`/non-text
 *   `modalities`, `prediction`, `web_search_options`, `verbosity`, `moderation`, legacy
 *   `functions`/`function_call`, custom tools.
 */

const IMAGE_EXTENSIONS: Record<string, string> = {
  png: "image/png",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  webp: "image/webp",
  gif: "image/gif",
  heic: "image/heic",
  heif: "image/heif",
};

type OpenAIPart = {
  type: string;
  text?: string;
  refusal?: string;
  image_url?: { url: string };
  input_audio?: { data: string; format: string };
  file?: { file_data?: string; file_id?: string };
};
type OpenAIToolCall = {
  id: string;
  type: string;
  function?: { name: string; arguments: string };
  extra_content?: { google?: { thought_signature?: string } };
};
type OpenAIMessage = {
  role: string;
  content?: string | OpenAIPart[] | null;
  tool_calls?: OpenAIToolCall[];
  tool_call_id?: string;
};

export function toGeminiRequest(body: ChatRequest, model: string): GeminiRequest {
  rejectUnsupported(body);
  const systemParts: GeminiPart[] = [];
  const contents: GeminiContent[] = [];
  const toolNames = new Map<string, string>();
  const push = (role: "user" | "model", parts: GeminiPart[]) => {
    if (parts.length === 0) return;
    const last = contents[contents.length - 1];
    if (last && last.role === role) last.parts.push(...parts);
    else contents.push({ role, parts });
  };

  (body.messages as OpenAIMessage[]).forEach((message, i) => {
    const at = `messages[${i}]`;
    switch (message.role) {
      case "system":
      case "developer": {
        const text = textOf(message.content);
        if (text) systemParts.push({ text });
        break;
      }
      case "user":
        push("user", userParts(message.content, `${at}.content`));
        break;
      case "assistant":
        push("model", modelParts(message, at, toolNames));
        break;
      case "tool": {
        const id = message.tool_call_id ?? "";
        const name = toolNames.get(id);
        if (!name) {
          throw unsupportedParam(`${at}.tool_call_id`, `No assistant tool call with id '${id}' precedes this tool message.`);
        }
        const text = textOf(message.content);
        push("user", [{ functionResponse: { name, response: toolResponse(text) } }]);
        break;
      }
      default:
        throw unsupportedParam(`${at}.role`, `Messages with role '${message.role}' are not supported by Google providers; use 'tool' messages.`);
    }
  });

  const request: GeminiRequest = { contents };
  if (systemParts.length > 0) request.systemInstruction = { parts: systemParts };
  applyTools(body, request);
  const generationConfig = generationConfigOf(body, model);
  if (Object.keys(generationConfig).length > 0) request.generationConfig = generationConfig;
  return request;
}

function rejectUnsupported(body: ChatRequest): void {
  const set = (v: unknown) => v !== undefined && v !== null;
  if (body.logprobs === true || set(body.top_logprobs)) {
    throw unsupportedParam(body.logprobs === true ? "logprobs" : "top_logprobs", "Google providers do not return log probabilities through the gateway.");
  }
  if (set(body.logit_bias) && Object.keys(body.logit_bias as object).length > 0) {
    throw unsupportedParam("logit_bias", "Google providers do not support 'logit_bias'.");
  }
  if (body.parallel_tool_calls === false) {
    throw unsupportedParam("parallel_tool_calls", "Google providers cannot be limited to one tool call per turn.");
  }
  if (set(body.audio)) throw unsupportedParam("audio", "Google providers do not produce audio through the gateway.");
  if (Array.isArray(body.modalities) && body.modalities.some((m) => m !== "text")) {
    throw unsupportedParam("modalities", "Google providers produce text only through the gateway.");
  }
  for (const param of ["prediction", "web_search_options", "functions", "function_call", "verbosity", "moderation"] as const) {
    if (set(body[param])) throw unsupportedParam(param, `Google providers do not support '${param}'.`);
  }
}

function userParts(content: OpenAIMessage["content"], at: string): GeminiPart[] {
  if (typeof content === "string") return content === "" ? [] : [{ text: content }];
  if (!Array.isArray(content)) return [];
  return content.map((part, j): GeminiPart => {
    const param = `${at}[${j}]`;
    switch (part.type) {
      case "text":
        return { text: part.text ?? "" };
      case "image_url":
        return imagePart(part.image_url?.url ?? "", `${param}.image_url.url`);
      case "input_audio": {
        const audio = part.input_audio ?? { data: "", format: "wav" };
        return { inlineData: { mimeType: audio.format === "mp3" ? "audio/mp3" : "audio/wav", data: audio.data } };
      }
      case "file": {
        const inline = part.file?.file_data ? parseDataUrl(part.file.file_data) : null;
        if (inline) return { inlineData: { mimeType: inline.mediaType, data: inline.data } };
        if (part.file?.file_data) throw unsupportedParam(`${param}.file.file_data`, "file_data must be a base64 data URL.");
        throw unsupportedParam(`${param}.file.file_id`, "Files referenced by id cannot be sent to Google providers; send file_data.");
      }
      default:
        throw unsupportedParam(`${param}.type`, `Content parts of type '${part.type}' are not supported by Google providers.`);
    }
  });
}

function imagePart(url: string, param: string): GeminiPart {
  const inline = parseDataUrl(url);
  if (inline) return { inlineData: { mimeType: inline.mediaType, data: inline.data } };
  if (/^https?:\/\//i.test(url)) {
    const extension = /\.([a-z0-9]+)(?:[?#].*)?$/i.exec(new URL(url).pathname)?.[1]?.toLowerCase();
    const mimeType = extension ? IMAGE_EXTENSIONS[extension] : undefined;
    if (!mimeType) {
      throw unsupportedParam(param, "Google providers need an image URL ending in .png, .jpg, .jpeg, .webp, .gif, .heic or .heif, or a base64 data URL.");
    }
    return { fileData: { mimeType, fileUri: url } };
  }
  throw unsupportedParam(param, "Images must be an https URL or a base64 data URL.");
}

function modelParts(message: OpenAIMessage, at: string, toolNames: Map<string, string>): GeminiPart[] {
  const parts: GeminiPart[] = [];
  const text = textOf(message.content);
  if (text) parts.push({ text });
  (message.tool_calls ?? []).forEach((call, k) => {
    if (call.type !== "function" || !call.function) {
      throw unsupportedParam(`${at}.tool_calls[${k}].type`, "Only function tool calls are supported by Google providers.");
    }
    toolNames.set(call.id, call.function.name);
    const part: GeminiPart = {
      functionCall: {
        name: call.function.name,
        args: parseToolArguments(call.function.arguments, `${at}.tool_calls[${k}].function.arguments`),
      },
    };
    const signature = call.extra_content?.google?.thought_signature;
    if (signature) part.thoughtSignature = signature;
    parts.push(part);
  });
  return parts;
}

function toolResponse(text: string): Record<string, unknown> {
  try {
    const value: unknown = JSON.parse(text);
    if (value && typeof value === "object" && !Array.isArray(value)) return value as Record<string, unknown>;
  } catch {
    // plain text result
  }
  return { content: text };
}

type OpenAITool = { type: string; function?: { name: string; description?: string; parameters?: Record<string, unknown> } };
type OpenAIToolChoice = string | { type: string; function?: { name: string }; allowed_tools?: { mode: string; tools: { function?: { name?: string } }[] } };

function applyTools(body: ChatRequest, request: GeminiRequest): void {
  const tools = (body.tools as OpenAITool[] | undefined) ?? [];
  const choice = body.tool_choice as OpenAIToolChoice | undefined;
  if (tools.length === 0) {
    if (choice !== undefined && choice !== "none") {
      throw unsupportedParam("tool_choice", "'tool_choice' is only allowed when 'tools' are specified.");
    }
    return;
  }
  request.tools = [
    {
      functionDeclarations: tools.map((tool, i) => {
        if (tool.type !== "function" || !tool.function) {
          throw unsupportedParam(`tools[${i}].type`, `Tools of type '${tool.type}' are not supported by Google providers.`);
        }
        const fn = tool.function;
        return {
          name: fn.name,
          ...(fn.description ? { description: fn.description } : {}),
          ...(fn.parameters ? { parametersJsonSchema: fn.parameters } : {}),
        };
      }),
    },
  ];
  if (choice === undefined) return;
  if (choice === "none") request.toolConfig = { functionCallingConfig: { mode: "NONE" } };
  else if (choice === "auto") request.toolConfig = { functionCallingConfig: { mode: "AUTO" } };
  else if (choice === "required") request.toolConfig = { functionCallingConfig: { mode: "ANY" } };
  else if (typeof choice === "object" && choice.type === "function" && choice.function?.name) {
    request.toolConfig = { functionCallingConfig: { mode: "ANY", allowedFunctionNames: [choice.function.name] } };
  } else if (typeof choice === "object" && choice.type === "allowed_tools" && choice.allowed_tools) {
    const names = choice.allowed_tools.tools.map((t) => t.function?.name).filter((n): n is string => !!n);
    request.toolConfig = {
      functionCallingConfig: { mode: choice.allowed_tools.mode === "required" ? "ANY" : "AUTO", allowedFunctionNames: names },
    };
  } else {
    throw unsupportedParam("tool_choice", "Google providers support tool_choice 'none', 'auto', 'required', a named function or allowed_tools.");
  }
}

const THINKING_BUDGETS: Record<string, number> = { none: 0, minimal: 1024, low: 1024, medium: 8192, high: 24576 };
const THINKING_LEVELS = new Set(["minimal", "low", "medium", "high"]);

function generationConfigOf(body: ChatRequest, model: string): NonNullable<GeminiRequest["generationConfig"]> {
  const config: NonNullable<GeminiRequest["generationConfig"]> = {};
  const num = (v: unknown) => (typeof v === "number" ? v : undefined);
  const assign = <K extends keyof typeof config>(key: K, value: (typeof config)[K] | undefined) => {
    if (value !== undefined) config[key] = value;
  };
  assign("temperature", num(body.temperature));
  assign("topP", num(body.top_p));
  assign("candidateCount", typeof body.n === "number" && body.n !== 1 ? body.n : undefined);
  assign("maxOutputTokens", requestedMaxTokens(body) ?? undefined);
  assign("stopSequences", stopSequences(body.stop));
  assign("presencePenalty", num(body.presence_penalty));
  assign("frequencyPenalty", num(body.frequency_penalty));
  assign("seed", num(body.seed));

  const format = body.response_format as { type: string; json_schema?: { schema?: unknown } } | undefined;
  if (format?.type === "json_object") config.responseMimeType = "application/json";
  else if (format?.type === "json_schema") {
    config.responseMimeType = "application/json";
    if (format.json_schema?.schema) config.responseJsonSchema = format.json_schema.schema;
  }

  const effort = body.reasoning_effort as string | null | undefined;
  if (effort !== undefined && effort !== null) {
    if (/^gemini-([3-9]|\d{2,})/.test(model)) {
      if (!THINKING_LEVELS.has(effort)) {
        throw unsupportedParam("reasoning_effort", `Gemini 3 models accept reasoning_effort minimal, low, medium or high, not '${effort}'.`);
      }
      config.thinkingConfig = { thinkingLevel: effort };
    } else {
      const budget = THINKING_BUDGETS[effort];
      if (budget === undefined) {
        throw unsupportedParam("reasoning_effort", `Google providers accept reasoning_effort none, minimal, low, medium or high, not '${effort}'.`);
      }
      config.thinkingConfig = { thinkingBudget: budget };
    }
  }
  return config;
}
