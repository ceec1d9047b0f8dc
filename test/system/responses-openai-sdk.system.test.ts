import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { FakeUpstream } from "../fake-upstream/server";
import { clientFor } from "../support/clients";
import { uniqueModel } from "../support/names";
import { sdkFailure } from "../support/openai-sdk";
import { responseUsageRows, startResponsesStack } from "../support/responses";
import type { Stack } from "../support/stack";

/**
 * Issue 13, "must show": the `openai` SDK's `client.responses.*` against `/v1/responses`, with every
 * model step on an Anthropic-type provider (the fake upstream's Messages API): the response object
 * exactly as OpenAI's, `output_text`, storage and tenant scoping, streaming, function tools.
 */

let stack: Stack;
let upstream: FakeUpstream;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ stack, upstream, close } = await startResponsesStack());
});
afterAll(() => close?.());

const ANSWER = "Hello! The capital of France is Paris.";

describe("responses.create on an Anthropic provider", () => {
  it("answers a plain prompt: output_text, OpenAI's response object, usage the sum billing recorded for the response", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("resp-plain");
    const response = await client.responses.create({ model: `claude/${model}`, input: "What is the capital of France?", metadata: { run: "one" } });
    expect(response.output_text).toBe(ANSWER);
    const rows = await responseUsageRows(stack, response.id, 1);
    expect(rows).toHaveLength(1);
    const sum = (k: "prompt_tokens" | "completion_tokens" | "cached_tokens" | "total_tokens") => rows.reduce((n, r) => n + r[k], 0);
    expect(response).toEqual({
      id: expect.stringMatching(/^resp_[A-Za-z0-9]{24}$/),
      object: "response",
      created_at: expect.any(Number),
      status: "completed",
      background: false,
      completed_at: expect.any(Number),
      error: null,
      incomplete_details: null,
      instructions: null,
      max_output_tokens: null,
      max_tool_calls: null,
      model: `claude/${model}`,
      output: [
        {
          type: "message",
          id: expect.stringMatching(/^msg_/),
          role: "assistant",
          status: "completed",
          content: [{ type: "output_text", text: ANSWER, annotations: [], logprobs: [] }],
        },
      ],
      output_text: ANSWER,
      parallel_tool_calls: true,
      previous_response_id: null,
      store: true,
      temperature: 1,
      text: { format: { type: "text" } },
      tool_choice: "auto",
      tools: [],
      top_p: 1,
      truncation: "disabled",
      usage: {
        input_tokens: sum("prompt_tokens"),
        input_tokens_details: { cached_tokens: sum("cached_tokens") },
        output_tokens: sum("completion_tokens"),
        output_tokens_details: { reasoning_tokens: 0 },
        total_tokens: sum("total_tokens"),
      },
      metadata: { run: "one" },
    });
    expect(response.usage!.input_tokens).toBeGreaterThan(0);
    // The step went to Anthropic's Messages API as a translated chat request.
    const sent = upstream.requests(model);
    expect(sent).toHaveLength(1);
    expect(sent[0]!.path).toBe("/v1/messages");
    expect(sent[0]!.body["messages"]).toEqual([{ role: "user", content: [{ type: "text", text: "What is the capital of France?" }] }]);
  });

  it("stores the response: retrieve, input_items, delete; another tenant's id is a 404", async () => {
    const { client } = await clientFor(stack);
    const other = (await clientFor(stack)).client;
    const model = uniqueModel("resp-store");
    const created = await client.responses.create({
      model: `claude/${model}`,
      instructions: "Be brief.",
      input: [{ role: "user", content: "Capital of France?" }],
    });
    const { output_text: _text, ...stored } = created;
    const retrieved = await client.responses.retrieve(created.id);
    expect(retrieved).toEqual({ ...stored, output_text: ANSWER });
    const items = await client.responses.inputItems.list(created.id);
    expect(items.data).toEqual([
      { type: "message", id: expect.stringMatching(/^msg_/), role: "user", status: "completed", content: [{ type: "input_text", text: "Capital of France?" }] },
    ]);
    expect(upstream.requests(model)[0]!.body["system"]).toBeDefined();

    const calls = [() => other.responses.retrieve(created.id), () => other.responses.inputItems.list(created.id), () => other.responses.delete(created.id)];
    for (const call of calls) {
      const failure = await sdkFailure(call());
      expect(failure.status).toBe(404);
      expect(failure.error).toMatchObject({ code: "not_found", type: "invalid_request_error" });
    }
    expect((await client.responses.retrieve(created.id)).status).toBe("completed");
    await client.responses.delete(created.id);
    const gone = await sdkFailure(client.responses.retrieve(created.id));
    expect(gone.status).toBe(404);
  });

  it("refuses a field it does not support with 400 naming it, and runs nothing", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("resp-unsupported");
    const failure = await sdkFailure(client.responses.create({ model: `claude/${model}`, input: "hi", reasoning: { effort: "low" } }));
    expect(failure.status).toBe(400);
    expect(failure.error).toMatchObject({ param: "reasoning", code: "invalid_request", type: "invalid_request_error" });
    expect(upstream.requests(model)).toHaveLength(0);
  });
});
