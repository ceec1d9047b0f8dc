/**
 * Example requests and answers for the main routes, shown by `/docs` beside each schema. They are
 * shaped like the real wire formats (the same ones test/fixtures records), and route.test.ts checks
 * each request example against the schema its route validates with, so an example cannot go stale.
 */
export const EXAMPLES = {
  chat: {
    request: {
      model: "openai/gpt-4o-mini",
      messages: [
        { role: "system", content: "You are a terse assistant." },
        { role: "user", content: "Say hello in French." },
      ],
      max_tokens: 64,
      temperature: 0.2,
    },
    response: {
      id: "chatcmpl-abc123",
      object: "chat.completion",
      created: 1767225600,
      model: "gpt-4o-mini-2024-07-18",
      choices: [{ index: 0, message: { role: "assistant", content: "Bonjour !", refusal: null }, logprobs: null, finish_reason: "stop" }],
      usage: { prompt_tokens: 22, completion_tokens: 4, total_tokens: 26 },
    },
  },
  completions: {
    request: { model: "openai/gpt-3.5-turbo-instruct", prompt: "Say hello in French:", max_tokens: 16 },
  },
  embeddings: {
    request: { model: "openai/text-embedding-3-small", input: ["The quick brown fox", "jumps over the lazy dog"], encoding_format: "float" },
    response: {
      object: "list",
      data: [
        { object: "embedding", index: 0, embedding: [0.0023, -0.0093, 0.0158] },
        { object: "embedding", index: 1, embedding: [0.0107, -0.0021, -0.0044] },
      ],
      model: "text-embedding-3-small",
      usage: { prompt_tokens: 10, total_tokens: 10 },
    },
  },
  models: {
    list: {
      object: "list",
      data: [
        { id: "openai/gpt-4o-mini", object: "model", created: 0, owned_by: "openai" },
        { id: "anthropic/claude-sonnet-4-5", object: "model", created: 0, owned_by: "anthropic" },
      ],
    },
    one: { id: "openai/gpt-4o-mini", object: "model", created: 0, owned_by: "openai" },
  },
  messages: {
    request: {
      model: "anthropic/claude-sonnet-4-5",
      max_tokens: 256,
      system: "You are a terse assistant.",
      messages: [{ role: "user", content: "Say hello in French." }],
    },
    response: {
      id: "msg_01XFDUDYJgAACzvnptvVoYEL",
      type: "message",
      role: "assistant",
      model: "claude-sonnet-4-5",
      content: [{ type: "text", text: "Bonjour !" }],
      stop_reason: "end_turn",
      stop_sequence: null,
      usage: { input_tokens: 18, output_tokens: 6 },
    },
  },
  countTokens: {
    request: {
      model: "anthropic/claude-sonnet-4-5",
      system: "You are a terse assistant.",
      messages: [{ role: "user", content: "Say hello in French." }],
    },
    response: { input_tokens: 18 },
  },
} as const;
