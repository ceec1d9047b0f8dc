import { createServer, type IncomingHttpHeaders } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A web site for the `http_fetch` tool in system tests: an HTTP server on loopback (every address
 * family, so `localhost` reaches it however the runtime resolves it) that records each request and
 * serves `/page` (a short text), `/redirect?to=<url>` (a 302 to that URL) and 404 otherwise.
 */
export const WEB_PAGE_TEXT = "Paris: 18°C and sunny.";

export interface WebSite {
  /** `http://localhost:<port>`. */
  origin: string;
  port: number;
  requests: { path: string; headers: IncomingHttpHeaders }[];
  close(): Promise<void>;
}

export async function startWebSite(): Promise<WebSite> {
  const requests: WebSite["requests"] = [];
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? "/", "http://localhost");
    requests.push({ path: url.pathname + url.search, headers: req.headers });
    if (url.pathname === "/page") res.writeHead(200, { "content-type": "text/plain; charset=utf-8" }).end(WEB_PAGE_TEXT);
    else if (url.pathname === "/redirect") res.writeHead(302, { location: url.searchParams.get("to") ?? "/" }).end();
    else res.writeHead(404, { "content-type": "text/plain" }).end("not found");
  });
  await new Promise<void>((resolve) => server.listen(0, resolve));
  const { port } = server.address() as AddressInfo;
  return {
    origin: `http://localhost:${port}`,
    port,
    requests,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
