import { describe, expect, it } from "vitest";
import { ApiError } from "../../../../shared/src";
import type { ChatRequest } from "../chat-translation";
import { toGeminiRequest } from "./chat-request";

const translate = (body: Record<string, unknown>, model = "gemini-2.5-flash") =>
  toGeminiRequest({ model: "gemini/x", ...body } as unknown as ChatRequest, model);
const rejection = (body: Record<string, unknown>, model?: string) => {
  try {
    translate(body, model);
  } catch (err) {
    expect(err).toBeInstanceOf(ApiError);
    return { status: (err as ApiError).status, param: (err as ApiError).param };
  }
  throw new Error("expected a 400");
};

describe("OpenAI chat request → Gemini generateContent request", () => {
  it("puts system/developer text in systemInstruction and maps roles, merging adjacent turns", () => {
    const out = translate({
      messages: [
        { role: "system", content: "Be brief." },
        { role: "user", content: "Hi" },
        { role: "assistant", content: "Hello!" },
        { role: "developer", content: "Use metric units." },
        { role: "user", content: [{ type: "text", text: "Weather?" }] },
        { role: "user", content: "In Paris." },
      ],
    });
    expect(out.systemInstruction).toEqual({ parts: [{ text: "Be brief." }, { text: "Use metric units." }] });
    expect(out.contents).toEqual([
      { role: "user", parts: [{ text: "Hi" }] },
      { role: "model", parts: [{ text: "Hello!" }] },
      { role: "user", parts: [{ text: "Weather?" }, { text: "In Paris." }] },
    ]);
    expect(out.generationConfig).toBeUndefined();
  });

  it("sends images, audio and PDFs as inlineData/fileData", () => {
    const out = translate({
      messages: [
        {
          role: "user",
          content: [
            { type: "image_url", image_url: { url: "data:image/jpeg;base64,/9j/4AAQ" } },
            { type: "image_url", image_url: { url: "https://example.com/photos/cat.PNG?size=large" } },
            { type: "input_audio", input_audio: { data: "UklGRg==", format: "wav" } },
            { type: "file", file: { file_data: "data:application/pdf;base64,JVBERi0=" } },
          ],
        },
      ],
    });
    expect(out.contents[0]!.parts).toEqual([
      { inlineData: { mimeType: "image/jpeg", data: "/9j/4AAQ" } },
      { fileData: { mimeType: "image/png", fileUri: "https://example.com/photos/cat.PNG?size=large" } },
      { inlineData: { mimeType: "audio/wav", data: "UklGRg==" } },
      { inlineData: { mimeType: "application/pdf", data: "JVBERi0=" } },
    ]);
  });

  it("translates tools, function calls (with thought signatures) and function responses by name", () => {
    const out = translate({
      messages: [
        { role: "user", content: "Weather in Paris?" },
        {
          role: "assistant",
          content: null,
          tool_calls: [
            {
              id: "call_1",
              type: "function",
              function: { name: "get_weather", arguments: '{"location":"Paris"}' },
              extra_content: { google: { thought_signature: "c2lnbmF0dXJl" } },
            },
          ],
        },
        { role: "tool", tool_call_id: "call_1", content: '{"temperature":18}' },
        { role: "tool", tool_call_id: "call_1", content: "sunny" },
      ],
      tools: [
        {
          type: "function",
          function: {
            name: "get_weather",
            description: "Weather",
            parameters: { type: "object", properties: { location: { type: "string" } }, additionalProperties: false },
          },
        },
      ],
      tool_choice: { type: "function", function: { name: "get_weather" } },
    });
    expect(out.tools).toEqual([
      {
        functionDeclarations: [
          {
            name: "get_weather",
            description: "Weather",
            parametersJsonSchema: { type: "object", properties: { location: { type: "string" } }, additionalProperties: false },
          },
        ],
      },
    ]);
    expect(out.toolConfig).toEqual({ functionCallingConfig: { mode: "ANY", allowedFunctionNames: ["get_weather"] } });
    expect(out.contents).toEqual([
      { role: "user", parts: [{ text: "Weather in Paris?" }] },
      { role: "model", parts: [{ functionCall: { name: "get_weather", args: { location: "Paris" } }, thoughtSignature: "c2lnbmF0dXJl" }] },
      {
        role: "user",
        parts: [
          { functionResponse: { name: "get_weather", response: { temperature: 18 } } },
          { functionResponse: { name: "get_weather", response: { content: "sunny" } } },
        ],
      },
    ]);
  });

  it("maps tool_choice none/auto/required/allowed_tools", () => {
    const tools = [
      { type: "function", function: { name: "f" } },
      { type: "function", function: { name: "g" } },
    ];
    const config = (tool_choice: unknown) => translate({ messages: [{ role: "user", content: "x" }], tools, tool_choice }).toolConfig;
    expect(config("none")).toEqual({ functionCallingConfig: { mode: "NONE" } });
    expect(config("auto")).toEqual({ functionCallingConfig: { mode: "AUTO" } });
    expect(config("required")).toEqual({ functionCallingConfig: { mode: "ANY" } });
    expect(config({ type: "allowed_tools", allowed_tools: { mode: "auto", tools: [{ type: "function", function: { name: "g" } }] } })).toEqual({
      functionCallingConfig: { mode: "AUTO", allowedFunctionNames: ["g"] },
    });
  });

  it("maps sampling, limits, stops, n, penalties, seed and JSON output to generationConfig", () => {
    const schema = { type: "object", properties: { a: { type: "number" } } };
    const out = translate({
      messages: [{ role: "user", content: "x" }],
      temperature: 1.4,
      top_p: 0.8,
      n: 2,
      max_completion_tokens: 256,
      stop: ["END"],
      presence_penalty: 0.5,
      frequency_penalty: -0.5,
      seed: 42,
      response_format: { type: "json_schema", json_schema: { name: "o", schema } },
      user: "dropped",
    });
    expect(out.generationConfig).toEqual({
      temperature: 1.4,
      topP: 0.8,
      candidateCount: 2,
      maxOutputTokens: 256,
      stopSequences: ["END"],
      presencePenalty: 0.5,
      frequencyPenalty: -0.5,
      seed: 42,
      responseMimeType: "application/json",
      responseJsonSchema: schema,
    });
    expect(translate({ messages: [{ role: "user", content: "x" }], response_format: { type: "json_object" } }).generationConfig).toEqual({
      responseMimeType: "application/json",
    });
  });

  it("maps reasoning_effort to a thinking budget, or a thinking level on Gemini 3", () => {
    const thinking = (effort: string, model?: string) =>
      translate({ messages: [{ role: "user", content: "x" }], reasoning_effort: effort }, model).generationConfig?.thinkingConfig;
    expect(thinking("none")).toEqual({ thinkingBudget: 0 });
    expect(thinking("low")).toEqual({ thinkingBudget: 1024 });
    expect(thinking("high")).toEqual({ thinkingBudget: 24576 });
    expect(thinking("low", "gemini-3-pro-preview")).toEqual({ thinkingLevel: "low" });
    expect(rejection({ messages: [{ role: "user", content: "x" }], reasoning_effort: "none" }, "gemini-3-pro-preview").param).toBe("reasoning_effort");
    expect(rejection({ messages: [{ role: "user", content: "x" }], reasoning_effort: "max" }).param).toBe("reasoning_effort");
  });

  it("rejects what Gemini cannot honour with a 400 naming the param", () => {
    const base = { messages: [{ role: "user", content: "x" }] };
    expect(rejection({ ...base, logprobs: true })).toEqual({ status: 400, param: "logprobs" });
    expect(rejection({ ...base, logit_bias: { "1": 5 } }).param).toBe("logit_bias");
    expect(rejection({ ...base, tools: [{ type: "function", function: { name: "f" } }], parallel_tool_calls: false }).param).toBe("parallel_tool_calls");
    expect(rejection({ ...base, tool_choice: "auto" }).param).toBe("tool_choice");
    expect(rejection({ messages: [{ role: "user", content: [{ type: "image_url", image_url: { url: "https://example.com/image" } }] }] }).param).toBe(
      "messages[0].content[0].image_url.url",
    );
    expect(rejection({ messages: [{ role: "user", content: [{ type: "file", file: { file_id: "file-abc" } }] }] }).param).toBe(
      "messages[0].content[0].file.file_id",
    );
    expect(
      rejection({
        messages: [
          { role: "user", content: "x" },
          { role: "tool", tool_call_id: "nope", content: "r" },
        ],
      }).param,
    ).toBe("messages[1].tool_call_id");
  });
});
