import { createApp } from "./app";

/** The gateway: the only public Worker. */
const app = createApp();

export default {
  fetch: app.fetch,
} satisfies ExportedHandler<GatewayEnv>;
