import { OpenAPIHono } from "@hono/zod-openapi";
import { ApiError, validationError } from "../../shared/src";
import { registerAdmin } from "./admin";
import { registerDocs } from "./docs/route";
import { registerHealth } from "./health/route";
import { registerKeys } from "./keys";
import { registerLangchain } from "./langchain";
import { registerConsoleApi } from "./console/routes";
import { registerMetrics } from "./metrics/route";
import { cors } from "./middleware/cors";
import { traceContext } from "./middleware/trace";
import { notFound, onError } from "./middleware/errors";
import { requestId } from "./middleware/request-id";
import { internalCaller } from "./batch/line-call";
import { registerFilesAndBatches } from "./batch/routes";
import { testClock } from "./middleware/test-clock";
import { registerOpenAI } from "./openai";
import { registerMessages } from "./messages";
import { registerProviders } from "./providers";
import { registerResponses } from "./responses/routes";
import type { GatewayBindings } from "./types";
import { registerUsageApi } from "./usage-api";
import { registerInvoices } from "./invoices";
import { registerStripeWebhook } from "./stripe";
import { registerWebhooks } from "./webhooks";

/** Builds the public API. Routes register themselves per concept folder. */
export function createApp(): OpenAPIHono<GatewayBindings> {
  const app = new OpenAPIHono<GatewayBindings>({
    // Every zod validation failure becomes OpenAI's 400 naming the offending `param`.
    defaultHook: (result) => {
      if (!result.success) throw new ApiError(validationError(result.error));
    },
  });
  app.use("*", requestId());
  app.use("*", traceContext());
  // Before every route and authentication: CORS preflights are answered here (middleware/cors.ts).
  app.use("*", cors());
  app.use("*", testClock());
  app.use("*", internalCaller());
  app.onError(onError);

  registerHealth(app);
  registerDocs(app);
  registerAdmin(app);
  registerKeys(app);
  registerOpenAI(app);
  registerMessages(app);
  registerProviders(app);
  registerUsageApi(app);
  registerInvoices(app);
  registerStripeWebhook(app);
  registerLangchain(app);
  registerFilesAndBatches(app);
  registerResponses(app);
  registerWebhooks(app);
  registerConsoleApi(app);
  registerMetrics(app);

  app.notFound(notFound(app));
  return app;
}
