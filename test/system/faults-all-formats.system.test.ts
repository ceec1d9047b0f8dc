import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { eventually } from "../support/wait";
import { uniqueModel } from "../support/names";
import { droppableGatewayFetch } from "../support/dropped-connection";
import { startStack, type Stack } from "../support/stack";
import { EVENTS_BEFORE_FAULT, FORMAT_CASES, callerFor as callerOn, drain, formatProviderVars, type Api } from "../support/formats";

/**
 * The same upstream faults for every wire format the gateway speaks upstream (OpenAI, Anthropic,
 * Gemini) and for both client APIs (`/v1/chat/completions` with the openai SDK, `/v1/messages`
 * with @anthropic-ai/sdk, native or translated): an upstream that stalls mid-answer, one that
 * sends headers and then nothing, and a client that leaves while the upstream is still answering.
 */

let stack: Stack;
let upstream: FakeUpstream;
// Short enough that a stall ends the test quickly, long enough for a busy machine's normal answers.
const TIMEOUT_MS = 1_500;
beforeAll(async () => {
  upstream = await startFakeUpstream();
  stack = await startStack({ vars: formatProviderVars(upstream, TIMEOUT_MS) });
});
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

/** The gateway's words for an upstream that never answered or stopped answering. */
const TIMEOUT_MESSAGE = /did not answer within|stopped sending for/;

const callerFor = (api: Api, keyBody: Parameters<typeof callerOn>[2] = {}, fetch?: Parameters<typeof callerOn>[3]) => callerOn(stack, api, keyBody, fetch);

describe.each(FORMAT_CASES)("$name", ({ provider, api }) => {
  it("a stream whose upstream stalls mid-answer ends in the SDK's error, after what had arrived", async () => {
    const call = await callerFor(api);
    const model = uniqueModel(`stall-${provider}-${api}`);
    upstream.on(model, { stallAfter: EVENTS_BEFORE_FAULT[provider] });
    const { events, error } = await drain((await call.send(`${provider}/${model}`, true)) as AsyncIterable<unknown>);
    expect(events).toBeGreaterThan(0);
    expect(error).toBeInstanceOf(call.APIError);
    expect(String((error as Error).message)).toMatch(TIMEOUT_MESSAGE);
  });

  it("an upstream that sends headers and then no body is a timeout error, streamed or not", async () => {
    const call = await callerFor(api);
    const model = uniqueModel(`silent-${provider}-${api}`);
    upstream.on(model, { stallAfter: 0 });
    const plain = await call.send(`${provider}/${model}`, false).catch((e: unknown) => e);
    expect(plain).toBeInstanceOf(call.APIError);
    expect(String((plain as Error).message)).toMatch(TIMEOUT_MESSAGE);
    const streamed = await call
      .send(`${provider}/${model}`, true)
      .then((s) => drain(s as AsyncIterable<unknown>).then((r) => r.error))
      .catch((e: unknown) => e);
    expect(streamed).toBeInstanceOf(call.APIError);
    expect(String((streamed as Error).message)).toMatch(TIMEOUT_MESSAGE);
    expect(upstream.requests(model)).toHaveLength(2);
  });

  // Whether the upstream connection closes too cannot be shown here: under the harness every
  // outbound fetch crosses Miniflare's loopback server in Node, which keeps it open (the fake
  // upstream's held response still open 5 s after the reset, all six cases). That is shown on the
  // stack workerd serves by itself: client-departure.system.test.ts.
  it("a client that leaves mid-stream: its stream fails and the key's concurrency slot is free", async () => {
    const fetch = droppableGatewayFetch(stack);
    const call = await callerFor(api, { limits: { max_concurrency: 1 } }, fetch);
    const model = uniqueModel(`leave-${provider}-${api}`);
    const gate = upstream.hold(model, EVENTS_BEFORE_FAULT[provider]);
    const stream = (await call.send(`${provider}/${model}`, true)) as AsyncIterable<unknown>;
    const iterator = stream[Symbol.asyncIterator]();
    await iterator.next();
    await gate.reached;
    fetch.dropConnection();
    // What had already arrived may still be read; then the stream fails (the upstream is still held).
    await expect(
      (async () => {
        for (;;) if ((await iterator.next()).done) return;
      })(),
    ).rejects.toThrow();
    // The slot of the abandoned request is free: the next request of this one-at-a-time key is admitted.
    const again = uniqueModel(`leave-again-${provider}-${api}`);
    const answer = await eventually(
      () =>
        call.send(`${provider}/${again}`, false).catch((e: unknown) => {
          if ((e as { status?: number }).status === 429) return null;
          throw e;
        }),
      15_000,
      "the freed concurrency slot",
    );
    expect(answer).toBeTruthy();
    expect(upstream.requests(again)).toHaveLength(1);
    gate.release();
  });
});
