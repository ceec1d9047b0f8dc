import { errorResponse } from "./errors";

/**
 * The `fetch` handler of an internal Worker. Internal Workers have no routes and no workers.dev URL;
 * if a request reaches one anyway it gets a 404 in the public error shape and nothing else.
 */
export function privateWorkerFetch(): Response {
  return errorResponse({ code: "not_found", message: "Not found." });
}
