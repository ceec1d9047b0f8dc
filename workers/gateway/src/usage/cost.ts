import { costMicros, microsToUsdString } from "../../../shared/src";
import { priceBook } from "../limits/prices";
import { meteredUsage, type RequestFacts, type ResponseFacts } from "./event";

/**
 * The cost of one answer as `x-gateway-cost-usd` shows it: the request's one metered usage
 * (`meteredUsage`, the same numbers its usage event carries) priced by billing's rule
 * (`PriceBook.forUsage` + `costMicros`, the same functions billing records the event with). The
 * price table is the isolate's cached copy (one RPC per isolate start). Null when the table cannot
 * be loaded: the answer is then sent without the header rather than failed.
 */
export async function answerCostUsd(env: Pick<GatewayEnv, "BILLING">, req: RequestFacts, res: ResponseFacts): Promise<string | null> {
  const book = await priceBook(env).catch(() => null);
  if (!book) return null;
  const price = book.forUsage(res.model, res.provider, req.requestedModel);
  if (!price) return microsToUsdString(0);
  const { usage } = meteredUsage(req, res);
  return microsToUsdString(costMicros(price, { promptTokens: usage.promptTokens, completionTokens: usage.completionTokens, cachedTokens: usage.cachedTokens }));
}
