/**
 * Prometheus metrics, served at GET /metrics in the text exposition format: calls per method and
 * code with their duration, outbox attempts per kind and outcome, and the process's own metrics
 * (CPU, memory, event loop lag) from prom-client's defaults. Each App has its own registry, so
 * several instances in one process (as in tests) do not collide.
 */
import type { IncomingMessage, ServerResponse } from "node:http";
import type { Http2ServerRequest, Http2ServerResponse } from "node:http2";
import { Counter, Histogram, Registry, collectDefaultMetrics } from "prom-client";

export interface Metrics {
  registry: Registry;
  rpcDuration: Histogram<"method" | "code">;
  outboxAttempts: Counter<"kind" | "outcome">;
}

export function createMetrics(): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  return {
    registry,
    rpcDuration: new Histogram({
      name: "coordinator_rpc_duration_seconds",
      help: "Duration of RPC calls in seconds, by method and gRPC code, over every transport.",
      labelNames: ["method", "code"],
      buckets: [0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
      registers: [registry],
    }),
    outboxAttempts: new Counter({
      name: "coordinator_outbox_attempts_total",
      help: "Outbox side-effect attempts, by kind (dispatch, notify) and outcome (done, retry, abandoned).",
      labelNames: ["kind", "outcome"],
      registers: [registry],
    }),
  };
}

/** Serves the registry at GET /metrics; returns false for any other path so the caller can go on. */
export function createMetricsHandler(registry: Registry) {
  return (request: IncomingMessage | Http2ServerRequest, response: ServerResponse | Http2ServerResponse): boolean => {
    if ((request.url ?? "").split("?", 1)[0] !== "/metrics") return false;
    if (request.method !== "GET" && request.method !== "HEAD") {
      response.writeHead(405, { allow: "GET, HEAD" });
      response.end();
      return true;
    }
    registry
      .metrics()
      .then((text) => {
        response.writeHead(200, { "content-type": registry.contentType });
        response.end(request.method === "HEAD" ? "" : text);
      })
      .catch(() => {
        response.writeHead(500);
        response.end();
      });
    return true;
  };
}
