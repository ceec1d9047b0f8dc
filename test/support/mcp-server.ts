import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { McpServer } from "@modelcontextprotocol/sdk/server/mcp.js";
import { StreamableHTTPServerTransport } from "@modelcontextprotocol/sdk/server/streamableHttp.js";
import { z } from "zod";

/**
 * A remote MCP server for system tests (`@modelcontextprotocol/sdk`'s server over Streamable HTTP,
 * stateless: a fresh server per request). It offers `get_weather` (the tool the fake Anthropic
 * upstream asks for) and `get_time`, records every tool call and the headers it came with.
 */
export interface TestMcpServer {
  url: string;
  calls: { name: string; arguments: Record<string, unknown>; authorization: string | undefined }[];
  /** Holds the next `get_weather` call (a slow tool): `reached` once it is being called, answered at `release()`. */
  holdNextCall(): { reached: Promise<void>; release(): void };
  close(): Promise<void>;
}

export const MCP_WEATHER = "18°C and sunny in Paris";

export async function startMcpServer(): Promise<TestMcpServer> {
  const calls: TestMcpServer["calls"] = [];
  let gate: { reached(): void; released: Promise<void> } | null = null;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    const authorization = req.headers.authorization;
    const server = new McpServer({ name: "test-weather", version: "1.0.0" });
    server.registerTool("get_weather", { description: "Current weather", inputSchema: { location: z.string(), unit: z.string().optional() } }, async (args) => {
      calls.push({ name: "get_weather", arguments: args, authorization });
      const held = gate;
      gate = null;
      if (held) {
        held.reached();
        await held.released;
      }
      return { content: [{ type: "text", text: MCP_WEATHER }] };
    });
    server.registerTool("get_time", { description: "Current time", inputSchema: {} }, async () => {
      calls.push({ name: "get_time", arguments: {}, authorization });
      return { content: [{ type: "text", text: "12:00" }] };
    });
    const transport = new StreamableHTTPServerTransport({ sessionIdGenerator: undefined, enableJsonResponse: true });
    res.on("close", () => {
      void transport.close();
      void server.close();
    });
    await server.connect(transport);
    await transport.handleRequest(req, res);
  };
  const http = createServer((req, res) => {
    handle(req, res).catch(() => {
      if (!res.headersSent) res.writeHead(500).end();
    });
  });
  await new Promise<void>((resolve) => http.listen(0, "127.0.0.1", resolve));
  const { port } = http.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/mcp`,
    calls,
    holdNextCall() {
      let reached!: () => void;
      let release!: () => void;
      const reachedP = new Promise<void>((r) => (reached = r));
      const released = new Promise<void>((r) => (release = r));
      gate = { reached, released };
      return { reached: reachedP, release };
    },
    close: () =>
      new Promise((resolve) => {
        http.close(() => resolve());
        http.closeAllConnections();
      }),
  };
}
