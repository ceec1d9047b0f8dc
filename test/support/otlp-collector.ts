import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";

/**
 * A local OpenTelemetry collector for system tests: an HTTP server that takes OTLP/HTTP JSON
 * (`POST /v1/traces`, `content-type: application/json`), answers 200 `{}` (the spec's full
 * success), and keeps every span it received with its resource's `service.name` and its
 * attributes flattened to plain values. `bodies` keeps the raw JSON, to check what never appears.
 */
export interface CollectedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId: string | null;
  name: string;
  kind: number;
  startTimeUnixNano: string;
  endTimeUnixNano: string;
  status: { code?: number };
  attributes: Record<string, string | number | boolean>;
}

export interface OtlpCollector {
  /** The base URL (what `OTEL_EXPORTER_OTLP_ENDPOINT` takes). */
  url: string;
  spans(): CollectedSpan[];
  bodies(): string[];
  /** Requests that were not a well-formed OTLP JSON export (wrong path, method, type or shape). */
  rejected(): string[];
  close(): Promise<void>;
}

type OtlpAnyValue = { stringValue?: string; intValue?: string | number; doubleValue?: number; boolValue?: boolean };
interface OtlpExport {
  resourceSpans: {
    resource?: { attributes?: { key: string; value: OtlpAnyValue }[] };
    scopeSpans: {
      spans: (Omit<CollectedSpan, "service" | "attributes" | "parentSpanId"> & {
        parentSpanId?: string;
        attributes?: { key: string; value: OtlpAnyValue }[];
      })[];
    }[];
  }[];
}

const plain = (v: OtlpAnyValue): string | number | boolean =>
  v.stringValue ?? (v.intValue !== undefined ? Number(v.intValue) : (v.doubleValue ?? v.boolValue ?? ""));
const flat = (attrs: { key: string; value: OtlpAnyValue }[] = []) => Object.fromEntries(attrs.map((a) => [a.key, plain(a.value)]));

export async function startOtlpCollector(): Promise<OtlpCollector> {
  const spans: CollectedSpan[] = [];
  const bodies: string[] = [];
  const rejected: string[] = [];
  const server: Server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on("data", (c: Buffer) => chunks.push(c));
    req.on("end", () => {
      const text = Buffer.concat(chunks).toString("utf8");
      if (req.method !== "POST" || req.url !== "/v1/traces" || !(req.headers["content-type"] ?? "").startsWith("application/json")) {
        rejected.push(`${req.method} ${req.url} ${req.headers["content-type"]}`);
        res.writeHead(404).end();
        return;
      }
      try {
        const body = JSON.parse(text) as OtlpExport;
        for (const rs of body.resourceSpans) {
          const service = String(flat(rs.resource?.attributes)["service.name"] ?? "");
          for (const ss of rs.scopeSpans) {
            for (const s of ss.spans) spans.push({ ...s, service, parentSpanId: s.parentSpanId ?? null, attributes: flat(s.attributes) });
          }
        }
        bodies.push(text);
      } catch (err) {
        rejected.push(`malformed: ${String(err)}`);
        res.writeHead(400, { "content-type": "application/json" }).end("{}");
        return;
      }
      res.writeHead(200, { "content-type": "application/json" }).end("{}");
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    spans: () => [...spans],
    bodies: () => [...bodies],
    rejected: () => [...rejected],
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
