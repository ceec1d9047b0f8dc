/**
 * The client leaving, watched with ONE listener per request: the incoming request's signal
 * (`enable_request_signal`: it aborts even while nothing is written) gets a single abort listener,
 * and whoever waits on the client at the moment — the wait for the answer, the read of a
 * non-streamed answer, then the SSE pump — takes the one handler slot in turn, instead of adding
 * and removing a listener of its own per wait (twice per chat request, once more per stream).
 */
export class ClientDeparture {
  readonly #signal: AbortSignal;
  #handler: ((reason: unknown) => void) | null = null;

  constructor(signal: AbortSignal) {
    this.#signal = signal;
    if (!signal.aborted) signal.addEventListener("abort", () => this.#left(), { once: true });
  }

  /** The request's signal (to cancel a fetch made for the client with). */
  get signal(): AbortSignal {
    return this.#signal;
  }

  /** Whether the client has already gone. */
  get left(): boolean {
    return this.#signal.aborted;
  }

  /**
   * What to do when the client leaves from now on, replacing the previous handler (null: nothing).
   * Not called if the client had already left: check `left` first.
   */
  onLeave(handler: ((reason: unknown) => void) | null): void {
    this.#handler = handler;
  }

  #left(): void {
    const handler = this.#handler;
    this.#handler = null;
    handler?.(this.#signal.reason);
  }
}
