/** Per-owner caps: the whole configuration of an owner is held in isolate memory on the request path. */
export const MAX_PROVIDERS_PER_OWNER = 200;
export const MAX_ROUTES_PER_OWNER = 500;
