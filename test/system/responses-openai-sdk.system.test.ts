import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ResponseStreamEvent } from "openai/resources/responses/responses";
import type { FakeUpstream } from "../fake-upstream/server";
import { clientFor } from "../support/clients";
import { uniqueModel } from "../support/names";
import { sdkFailure } from "../support/openai-sdk";
import { responseReaching, responseUsageRows, restartRun, startResponsesStack } from "../support/responses";
import { eventually } from "../support/wait";
import { member } from "../support/console";
import { expectError } from "../support/errors";
import { d1 } from "../support/stores";
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

describe("truncation", () => {
  it("auto drops the oldest turns when the prompt is too long for the model's context and runs the step again; disabled answers the upstream's 400", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("resp-truncation");
    // A context of 150 of the fake's tokens (a word each): one 100-word turn fits, two do not.
    upstream.on(model, { contextTokens: 150 });
    const words = (label: string) => `${label} ${"word ".repeat(99)}`.trim();
    const first = await client.responses.create({ model: `claude/${model}`, input: words("first") });
    expect(first.status).toBe("completed");

    const auto = await client.responses.create({ model: `claude/${model}`, previous_response_id: first.id, input: words("second"), truncation: "auto" });
    expect(auto).toMatchObject({ status: "completed", truncation: "auto", output_text: ANSWER });
    const [, refused, retried] = upstream.requests(model);
    expect((refused!.body["messages"] as unknown[]).length).toBe(3);
    // The retry carries only the newest turn: the first response's user message and answer were dropped.
    expect(retried!.body["messages"]).toEqual([{ role: "user", content: [{ type: "text", text: words("second") }] }]);

    const disabled = await sdkFailure(client.responses.create({ model: `claude/${model}`, previous_response_id: first.id, input: words("third") }));
    expect(disabled.status).toBe(400);
    expect(disabled.error).toMatchObject({ code: "context_length_exceeded", type: "invalid_request_error" });
    expect(upstream.requests(model)).toHaveLength(4);
  });
});

describe("responses.stream", () => {
  it("streams one lifecycle: every event in order with sequence_number 0, 1, 2, …; the final response equals the stored one", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("resp-stream");
    const stream = client.responses.stream({ model: `claude/${model}`, input: "What is the capital of France?" });
    const events: ResponseStreamEvent[] = [];
    const deltas: string[] = [];
    stream.on("response.output_text.delta", (e) => deltas.push(e.delta));
    for await (const event of stream) events.push(event);
    const final = await stream.finalResponse();
    expect(events.map((e) => e.type)).toEqual([
      "response.created",
      "response.in_progress",
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    expect(events.map((e) => e.sequence_number)).toEqual(events.map((_, i) => i));
    expect(deltas.join("")).toBe(ANSWER);
    expect(final.output_text).toBe(ANSWER);
    expect(final.status).toBe("completed");
    // The terminal event carries the response exactly as stored.
    const { output_text: _t, ...stored } = await client.responses.retrieve(final.id);
    const completed = events.at(-1);
    expect(completed?.type === "response.completed" ? completed.response : null).toEqual(stored);
  });
});

describe("function tools", () => {
  const weather = {
    type: "function" as const,
    name: "get_weather",
    description: "Current weather",
    parameters: { type: "object", properties: { location: { type: "string" }, unit: { type: "string" } }, required: ["location"] },
    strict: false,
  };

  it("round trip: the response completes with a function_call; the client's function_call_output continues it through previous_response_id", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("resp-fn");
    const first = await client.responses.create({ model: `claude/${model}`, input: "What's the weather in Paris?", tools: [weather] });
    expect(first.status).toBe("completed");
    expect(first.output).toEqual([
      expect.objectContaining({ type: "message", content: [expect.objectContaining({ text: "I'll check the weather in Paris for you." })] }),
      {
        type: "function_call",
        id: expect.stringMatching(/^fc_/),
        call_id: "toolu_01T1x1fJ34qAmk2tNTrN7Up6",
        name: "get_weather",
        arguments: JSON.stringify({ location: "Paris, France", unit: "celsius" }),
        status: "completed",
      },
    ]);
    const call = first.output.find((i) => i.type === "function_call")!;
    expect(upstream.requests(model)[0]!.body["tools"]).toEqual([{ name: "get_weather", description: "Current weather", input_schema: weather.parameters }]);

    const second = await client.responses.create({
      model: `claude/${model}`,
      previous_response_id: first.id,
      input: [{ type: "function_call_output", call_id: call.call_id, output: JSON.stringify({ temperature: 18 }) }],
      tools: [weather],
    });
    expect(second.status).toBe("completed");
    expect(second.previous_response_id).toBe(first.id);
    expect(second.output_text).toBe(ANSWER);
    // The whole conversation went to the model: the question, its tool call, the client's result.
    expect(upstream.requests(model)[1]!.body["messages"]).toEqual([
      { role: "user", content: [{ type: "text", text: "What's the weather in Paris?" }] },
      {
        role: "assistant",
        content: [
          { type: "text", text: "I'll check the weather in Paris for you." },
          { type: "tool_use", id: call.call_id, name: "get_weather", input: { location: "Paris, France", unit: "celsius" } },
        ],
      },
      { role: "user", content: [{ type: "tool_result", tool_use_id: call.call_id, content: JSON.stringify({ temperature: 18 }) }] },
    ]);
    const items = await client.responses.inputItems.list(second.id);
    expect(items.data).toEqual([
      {
        type: "function_call_output",
        id: expect.stringMatching(/^fco_/),
        call_id: call.call_id,
        output: JSON.stringify({ temperature: 18 }),
        status: "completed",
      },
    ]);
  });

  it("a previous_response_id of another tenant is a 404 naming it", async () => {
    const { client } = await clientFor(stack);
    const other = (await clientFor(stack)).client;
    const model = uniqueModel("resp-prev-other");
    const first = await client.responses.create({ model: `claude/${model}`, input: "hi" });
    const failure = await sdkFailure(other.responses.create({ model: `claude/${model}`, previous_response_id: first.id, input: "again" }));
    expect(failure.status).toBe(404);
    expect(failure.error).toMatchObject({ param: "previous_response_id", code: "not_found" });
    expect(upstream.requests(model)).toHaveLength(1);
  });
});

describe("background runs", () => {
  it("the console lists a run in flight for its tenant (never another's) until it completes; tail's index row goes with it", async () => {
    const { client, tenant } = await clientFor(stack);
    const viewer = await member(stack, tenant.id, "viewer");
    const other = await clientFor(stack);
    const outsider = await member(stack, other.tenant.id, "owner");
    const model = uniqueModel("resp-console");
    const gate = upstream.hold(model, 0);
    const created = await client.responses.create({ model: `claude/${model}`, input: "What is the capital of France?", background: true });
    await gate.reached;
    const runs = () => viewer.json<{ object: string; data: unknown[] }>(`/console/api/tenants/${tenant.id}/agent-runs`);
    const listed = await eventually(
      async () => {
        const list = await runs();
        return list.data.length > 0 ? list : null;
      },
      20_000,
      "the run listed in flight",
    );
    expect(listed).toEqual({
      object: "list",
      data: [
        {
          id: created.id,
          object: "response",
          surface: "responses",
          model: `claude/${model}`,
          status: "in_progress",
          background: true,
          created_at: created.created_at,
        },
      ],
    });
    expect(await outsider.json(`/console/api/tenants/${other.tenant.id}/agent-runs`)).toEqual({ object: "list", data: [] });
    await expectError(await outsider.fetch(`/console/api/tenants/${tenant.id}/agent-runs`), 404, "not_found");

    gate.release();
    await responseReaching(client, created.id, "completed");
    expect(await runs()).toEqual({ object: "list", data: [] });
    const indexed = async () =>
      (await (await d1(stack, "tail")).prepare("SELECT COUNT(*) AS n FROM agent_runs WHERE id = ?1").bind(created.id).first<{ n: number }>())!.n;
    await eventually(async () => ((await indexed()) === 0 ? true : null), 20_000, "the run's index row deleted");
  });

  it("create returns queued at once; the run completes with no client connected; polling sees completed", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("resp-bg");
    const gate = upstream.hold(model, 0);
    const created = await client.responses.create({ model: `claude/${model}`, input: "What is the capital of France?", background: true });
    expect(created).toMatchObject({ status: "queued", background: true, output: [] });
    await gate.reached;
    expect((await client.responses.retrieve(created.id)).status).toBe("in_progress");
    gate.release();
    const done = await responseReaching(client, created.id, "completed");
    expect(done.output_text).toBe(ANSWER);
  });

  it("cancel → cancelled: the step in flight is dropped, the stream ends with response.cancelled, cancelling again answers the same", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("resp-cancel");
    const gate = upstream.hold(model, 0);
    const created = await client.responses.create({ model: `claude/${model}`, input: "hi", background: true });
    await gate.reached;
    const cancelled = await client.responses.cancel(created.id);
    expect(cancelled).toMatchObject({ id: created.id, status: "cancelled", output: [] });
    gate.release();
    await upstream.requests(model)[0]!.outcome;
    const events: ResponseStreamEvent[] = [];
    for await (const e of await client.responses.retrieve(created.id, { stream: true })) events.push(e);
    expect(events.map((e) => e.type)).toEqual(["response.created", "response.queued", "response.in_progress", "response.cancelled"]);
    expect((await client.responses.retrieve(created.id)).status).toBe("cancelled");
    expect((await client.responses.cancel(created.id)).status).toBe("cancelled");
  });

  it("a dropped stream resumes with starting_after: no gap, no duplicate — also after the run's Durable Object restarted mid-step", async () => {
    const { client } = await clientFor(stack);
    const model = uniqueModel("resp-resume");
    const gate = upstream.hold(model, 0);
    const stream = await client.responses.create({ model: `claude/${model}`, input: "What is the capital of France?", background: true, stream: true });
    const seen: ResponseStreamEvent[] = [];
    for await (const e of stream) {
      seen.push(e);
      if (e.type === "response.in_progress") break; // the client drops the connection
    }
    expect(seen.map((e) => e.sequence_number)).toEqual([0, 1, 2]);
    const id = seen[0]!.type === "response.created" ? seen[0]!.response.id : "";
    await gate.reached;
    // The object restarts while its first model step is in flight: the step runs again (same request id).
    await restartRun(stack, id);
    const rest: ResponseStreamEvent[] = [];
    const resumed = await client.responses.retrieve(id, { stream: true, starting_after: 2 });
    await eventually(async () => (upstream.requests(model).length >= 2 ? true : null), 20_000, "the step re-run after the restart");
    gate.release();
    for await (const e of resumed) rest.push(e);
    expect(rest.map((e) => e.sequence_number)).toEqual(rest.map((_, i) => i + 3));
    expect(rest.map((e) => e.type)).toEqual([
      "response.output_item.added",
      "response.content_part.added",
      "response.output_text.delta",
      "response.output_text.done",
      "response.content_part.done",
      "response.output_item.done",
      "response.completed",
    ]);
    const all: ResponseStreamEvent[] = [];
    for await (const e of await client.responses.retrieve(id, { stream: true })) all.push(e);
    expect(all).toEqual([...seen, ...rest]);
    const final = await client.responses.retrieve(id);
    expect(final.output_text).toBe(ANSWER);
    // Billed once: both attempts of the step share its request id.
    const rows = await responseUsageRows(stack, id, 1);
    expect(rows).toHaveLength(1);
    expect(final.usage!.total_tokens).toBe(rows[0]!.total_tokens);
  });
});
