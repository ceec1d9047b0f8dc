import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startFakeUpstream, type FakeUpstream } from "../fake-upstream/server";
import { droppableFetch } from "../support/dropped-connection";
import { EVENTS_BEFORE_FAULT, FORMAT_CASES, callerFor, formatProviderVars } from "../support/formats";
import { uniqueModel } from "../support/names";
import { startDirectStack, type DirectStack } from "../support/stack";
import { eventually } from "../support/wait";

/**
 * A client that leaves mid-stream, end to end: the upstream's connection is closed (the upstream
 * stops generating, and billing, for nobody) and the key's concurrency slot is free for its next
 * request — for every upstream wire format and both client APIs.
 *
 * This runs on the stack workerd serves by itself (`startDirectStack`): under the test harness
 * every outbound fetch of a Worker crosses Miniflare's loopback server in Node, and that hop keeps
 * the upstream connection open after model-proxy aborted its fetch (measured: the fake upstream's
 * held response still open 5 s after the client's reset, in all six cases), so the harness cannot
 * show what production does.
 */

let stack: DirectStack;
let upstream: FakeUpstream;
beforeAll(async () => {
  upstream = await startFakeUpstream();
  stack = await startDirectStack({ vars: formatProviderVars(upstream, 20_000) });
});
afterAll(async () => {
  await stack?.close();
  await upstream?.close();
});

describe.each(FORMAT_CASES)("$name", ({ provider, api }) => {
  it("a client that leaves mid-stream: the upstream connection is closed and the key's concurrency slot is free", async () => {
    const fetch = droppableFetch();
    const call = await callerFor(stack, api, { limits: { max_concurrency: 1 } }, fetch);
    const model = uniqueModel(`depart-${provider}-${api}`);
    const gate = upstream.hold(model, EVENTS_BEFORE_FAULT[provider]);
    const stream = (await call.send(`${provider}/${model}`, true)) as AsyncIterable<unknown>;
    const iterator = stream[Symbol.asyncIterator]();
    expect((await iterator.next()).done).toBe(false);
    await gate.reached;
    fetch.dropConnection();

    // The upstream saw its client (model-proxy) leave before the answer was complete; it is still held.
    const [sent] = upstream.requests(model);
    expect(upstream.requests(model)).toHaveLength(1);
    expect(await sent!.outcome).toBe("aborted");

    // The abandoned request's slot is free: the next request of this one-at-a-time key is admitted
    // (the gateway settles the lease after it noticed the client leave; a 429 until then).
    const again = uniqueModel(`depart-again-${provider}-${api}`);
    const answer = await eventually(
      () =>
        call.send(`${provider}/${again}`, false).catch((e: unknown) => {
          if ((e as { status?: number }).status === 429) return null;
          throw e;
        }),
      15_000,
      "the freed concurrency slot",
    );
    expect(JSON.stringify(answer)).toContain("Paris");
    expect(upstream.requests(again)).toHaveLength(1);
    gate.release();
  });
});
