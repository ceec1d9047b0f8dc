import Stripe from "stripe";

/** Stripe through the official SDK with its fetch HTTP client (Workers); null when no key is configured (collection off). */
export function stripeClient(env: BillingEnv): Stripe | null {
  if (!env.STRIPE_SECRET_KEY) return null;
  return new Stripe(env.STRIPE_SECRET_KEY, {
    httpClient: Stripe.createFetchHttpClient(),
    maxNetworkRetries: 1,
    ...(env.STRIPE_API_HOST ? { host: env.STRIPE_API_HOST } : {}),
    ...(env.STRIPE_API_PORT ? { port: env.STRIPE_API_PORT } : {}),
    ...(env.STRIPE_API_PROTOCOL === "http" || env.STRIPE_API_PROTOCOL === "https" ? { protocol: env.STRIPE_API_PROTOCOL } : {}),
  });
}
