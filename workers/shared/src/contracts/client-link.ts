import { z } from "zod";

/**
 * How a stream's reader tells the Workers behind it that nobody reads the answer any more.
 *
 * Workers RPC does not carry a receiver's cancel back to the origin of a stream it returned (the
 * origin keeps pumping into a stream nobody reads; workerd#7298 is the runtime fix). Without a
 * signal, a client that hangs up mid-stream would leave model-proxy reading the upstream to the
 * end, paying for every token nobody will see. So the gateway passes, with a streamed
 * `ProxyRequest`, a `client` link (an RpcTarget it implements); model-proxy calls `closed()` once
 * it streams an answer and stops the upstream call when it resolves to `"gone"` — or rejects,
 * which means the gateway's request itself is over.
 *
 * `closed()` must be called before the RPC method that received the link returns: a stub passed
 * as a parameter is disposed when that call returns (tail's forwarding copy included), and only a
 * call already in flight survives that. (Measured: deferring the call until a stream had lasted
 * 250 ms made every later call fail through tail.)
 */
export type ClientOutcome = "done" | "gone";

export interface ClientLink {
  /** Resolves when the client finished reading (`done`) or went away (`gone`). */
  closed(): Promise<ClientOutcome>;
}

/**
 * The `client` field of a streamed ProxyRequest: an RPC stub (or, in the gateway, the RpcTarget
 * itself), recognised by its `closed` method. Validated like every other field, so no hop takes it
 * from an untyped input.
 */
export const ClientLinkSchema = z.custom<ClientLink>(
  (v) => (typeof v === "object" || typeof v === "function") && v !== null && typeof (v as { closed?: unknown }).closed === "function",
  "A client link has a closed() method.",
);
