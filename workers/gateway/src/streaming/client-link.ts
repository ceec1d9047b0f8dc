import { RpcTarget } from "cloudflare:workers";
import type { ClientLink, ClientOutcome } from "../../../shared/src/contracts/client-link";

/**
 * The gateway's end of a stream's client link (see contracts/client-link.ts): passed to tail with
 * a streamed request; the tap calls `end()` when the client finished reading or went away.
 */
export class ClientLinkTarget extends RpcTarget implements ClientLink {
  #resolve!: (outcome: ClientOutcome) => void;
  readonly #closed = new Promise<ClientOutcome>((resolve) => {
    this.#resolve = resolve;
  });

  closed(): Promise<ClientOutcome> {
    return this.#closed;
  }

  end(outcome: ClientOutcome): void {
    this.#resolve(outcome);
  }
}
