import type { ClientDeparture } from "../../../shared/src/proxy/client-departure";

/** What `unlessClientLeaves` resolves to when the client disconnected first. */
export const CLIENT_LEFT: unique symbol = Symbol("client left");

/**
 * `work`'s result, or CLIENT_LEFT as soon as the client disconnects (the request's one
 * `ClientDeparture`: it aborts even while nothing is written). Used while the gateway waits for an
 * answer it has not started to send — a non-streamed completion, or a stream before its first
 * byte — so that a client who leaves then is metered and its lease settled at once, instead of
 * when (or, if the runtime drops the handler, never) the upstream answers.
 * A result that arrives after the client left goes to `late`, which must release it.
 */
export function unlessClientLeaves<T>(work: Promise<T>, gone: ClientDeparture, late: (value: T) => void): Promise<T | typeof CLIENT_LEFT> {
  if (gone.left) {
    work.then(late, () => {});
    return Promise.resolve(CLIENT_LEFT);
  }
  return new Promise((resolve, reject) => {
    let left = false;
    gone.onLeave(() => {
      left = true;
      resolve(CLIENT_LEFT);
    });
    work.then(
      (value) => {
        gone.onLeave(null);
        if (left) late(value);
        else resolve(value);
      },
      (err: unknown) => {
        gone.onLeave(null);
        if (!left) reject(err);
      },
    );
  });
}
