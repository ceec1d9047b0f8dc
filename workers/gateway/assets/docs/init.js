// `/docs`: Swagger UI (served from /docs/vendor/, copied from the `swagger-ui-dist` package by
// scripts/docs-assets.mjs) over the gateway's own `/openapi.json`. No request leaves this origin.
/* global SwaggerUIBundle */
window.ui = SwaggerUIBundle({
  url: "/openapi.json",
  dom_id: "#swagger-ui",
  // Tags in the document's order (OpenAI-compatible API first, admin last), operations listed.
  docExpansion: "list",
  deepLinking: true,
  filter: true,
  // A body shows its schema (fields, types, descriptions), expanded, rather than only an example.
  defaultModelRendering: "model",
  defaultModelExpandDepth: 3,
  defaultModelsExpandDepth: 0,
  displayRequestDuration: true,
  // No call to swagger.io's validator badge: the page works offline.
  validatorUrl: null,
});
