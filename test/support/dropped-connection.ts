import { randomUUID } from "node:crypto";
import dc from "node:diagnostics_channel";
import type { Socket } from "node:net";
import OpenAI from "openai";
import type { Stack } from "./stack";
import { openaiClient } from "./clients";

/** Clients (and a bare `fetch`) whose connection to the gateway a test can reset mid-answer. */

/** undici's message on this channel when it writes a request's headers to a connection. */
const SEND_HEADERS = "undici:client:sendHeaders";
const TAG_HEADER = "x-test-connection";

export interface DroppableClient {
  client: OpenAI;
  /** Resets the connection of the client's latest request (TCP RST), as a crashed client or a lost network does. */
  dropConnection(): void;
}

/**
 * An OpenAI SDK client on the gateway whose connection a test can drop while the answer is
 * silent — to show what happens when a client leaves while the model is still thinking.
 *
 * Why not the SDK's own abort over `stack.url`: locally nothing in between passes that on while
 * no bytes flow. The SDK's abort closes the connection gracefully (FIN); workerd notices a
 * gracefully closed client only when its next write fails, which never happens while the upstream
 * is silent (measured: 0 of 10 once every chunk had reached the client; a test that aborted that
 * way passed only when the last chunks were still on their way, about half the time). A reset
 * connection workerd notices at once (10 of 10). The harness's HTTP listener is a proxy Worker
 * that does not pass a reset on either, so requests go through Miniflare's dispatch, straight into
 * workerd. (Cloudflare's edge tells the Worker about any client that leaves, FIN or RST.)
 *
 * The connection is found through undici's diagnostics channel, by a header unique to this client.
 */
export function droppableGatewayClient(stack: Stack, apiKey: string): DroppableClient {
  const { fetch, headers, dropConnection } = droppableGatewayFetch(stack);
  const client = openaiClient(stack, apiKey, { defaultHeaders: headers, fetch: fetch as never });
  return { client, dropConnection };
}

/**
 * The same for any client: a `fetch` into the gateway, the header that tags its requests, and
 * `dropConnection` (resets the connection of the latest tagged request).
 */
export function droppableGatewayFetch(stack: Stack): DroppableFetch {
  const gateway = stack.harness.getWorker("gateway");
  return droppableFetch(((url: string, init: RequestInit) => gateway.fetch(url, init as never)) as never);
}

export interface DroppableFetch {
  fetch: typeof globalThis.fetch;
  headers: Record<string, string>;
  dropConnection(): void;
}

/**
 * The same over any undici-based `fetch` (Node's own by default): for a gateway that workerd
 * serves itself (`startDirectStack` in ./stack.ts), where a reset reaches workerd directly.
 */
export function droppableFetch(base: typeof globalThis.fetch = globalThis.fetch): DroppableFetch {
  const tag = randomUUID();
  let connection: Socket | null = null;
  const onSendHeaders = (message: unknown) => {
    const { headers, socket } = message as { headers: string; socket: Socket };
    if (headers.includes(tag)) connection = socket;
  };
  dc.subscribe(SEND_HEADERS, onSendHeaders);
  return {
    fetch: base,
    headers: { [TAG_HEADER]: tag },
    dropConnection() {
      dc.unsubscribe(SEND_HEADERS, onSendHeaders);
      if (!connection) throw new Error("the client has not sent a request yet");
      connection.resetAndDestroy();
    },
  };
}
