import { costMicros, microsToUsdString, type TokenCounts, type UsageEvent } from "../../../shared/src";
import { priceBook } from "../limits/prices";
import { meteredUsage, type RequestFacts, type ResponseFacts } from "./event";

/**
 * What one metered usage costs, in integer micro-dollars, by billing's rule (`PriceBook.forUsage`
 * + `costMicros`, the same functions billing records the event with) over the isolate's cached
 * price table (one RPC per isolate start). 0 for a model without a price (billing records it
 * unpriced, at 0); null when the table cannot be loaded.
 */
async function priceMicros(
  env: Pick<GatewayEnv, "BILLING">,
  served: { model: string | null; provider: string | null; requestedModel: string },
  usage: TokenCounts,
  batch: boolean,
): Promise<number | null> {
  const book = await priceBook(env).catch(() => null);
  if (!book) return null;
  const price = book.forUsage(served.model, served.provider, served.requestedModel);
  return price ? costMicros(price, usage, { batch }) : 0;
}

/**
 * The cost of one answer as `x-gateway-cost-usd` shows it: the request's one metered usage
 * (`meteredUsage`, the same numbers its usage event carries), priced as billing prices it. Null
 * when the table cannot be loaded: the answer is then sent without the header rather than failed.
 */
export async function answerCostUsd(env: Pick<GatewayEnv, "BILLING">, req: RequestFacts, res: ResponseFacts): Promise<string | null> {
  const micros = await priceMicros(
    env,
    { model: res.model, provider: res.provider, requestedModel: req.requestedModel },
    meteredUsage(req, res).usage,
    req.batch !== undefined,
  );
  return micros === null ? null : microsToUsdString(micros);
}

/** A usage event's cost as billing will record it (for the Analytics Engine datapoint); null if unknown. */
export function eventCostMicros(env: Pick<GatewayEnv, "BILLING">, event: UsageEvent): Promise<number | null> {
  return priceMicros(
    env,
    { model: event.model, provider: event.provider, requestedModel: event.requested_model },
    {
      promptTokens: event.prompt_tokens,
      completionTokens: event.completion_tokens,
      cachedTokens: event.cached_tokens,
      cacheWriteTokens: event.cache_write_tokens ?? 0,
    },
    event.operation === "batch",
  );
}
