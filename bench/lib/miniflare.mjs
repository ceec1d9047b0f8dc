// Miniflare and workerd exactly as wrangler uses them. Neither is a direct dependency of the
// project; resolving them through wrangler guarantees the config the bench captured is encoded by
// the same Miniflare that generated it and served by the same workerd binary.
import { createRequire } from "node:module";

const fromWrangler = createRequire(createRequire(import.meta.url).resolve("wrangler"));
const fromMiniflare = createRequire(fromWrangler.resolve("miniflare"));

/** @type {{ kVoid: symbol, serializeConfig(config: unknown): Buffer }} */
export const miniflare = fromWrangler("miniflare");

/** The workerd binary Miniflare runs (MINIFLARE_WORKERD_PATH overrides it, as in Miniflare). */
export const WORKERD = process.env.MINIFLARE_WORKERD_PATH ?? /** @type {string} */ (fromMiniflare("workerd").default);
