/**
 * The standard gRPC health service, grpc.health.v1.Health, for load balancers, Kubernetes gRPC
 * probes and grpc-health-probe. See https://github.com/grpc/grpc/blob/master/doc/health-checking.md.
 *
 * Every known service name reports the one status of the server: DEGRADED counts as SERVING,
 * because a degraded server still accepts work and keeps it for later.
 */
import { Code, ConnectError, type ConnectRouter, type HandlerContext, type ServiceImpl } from "@connectrpc/connect";
import {
  Health,
  type HealthCheckRequest,
  HealthCheckResponse_ServingStatus as ServingStatus,
} from "../../gen/es/grpc/health/v1/health_pb";
import type { Logger } from "../logger";
import { StatusMonitor } from "./status-monitor";

/** The status the health check function reports, as in the coordinator's own GetHealth. */
export type ServerHealth = "SERVING" | "DEGRADED" | "NOT_SERVING";

export interface GrpcHealthOptions {
  /** Fully qualified service names reported besides "", the server as a whole. */
  services: readonly string[];
  /** Time between two checks while a Watch call is open, in milliseconds. Defaults to 5000. */
  watchIntervalMs?: number;
  /** Receives a warning when the check function fails, and a note when it succeeds again. */
  logger?: Logger;
}

export interface GrpcHealthService {
  readonly implementation: ServiceImpl<typeof Health>;
  /** Registers grpc.health.v1.Health on the router. */
  register(router: ConnectRouter): void;
  /**
   * Marks the server as shutting down: open Watch calls receive NOT_SERVING and end, and later
   * calls report NOT_SERVING without running the check. Call it before closing the server.
   */
  close(): void;
}

export const DEFAULT_WATCH_INTERVAL_MS = 5_000;

/**
 * Creates grpc.health.v1.Health over `check`. Check and List run `check` on every call. Watch
 * sends the status at once, then runs `check` every `watchIntervalMs` and sends the status again
 * whenever it changes, until the client cancels or `close` is called. Unknown service names get
 * NOT_FOUND from Check, and SERVICE_UNKNOWN from Watch, which keeps the call open.
 */
export function createGrpcHealthService(check: () => Promise<ServerHealth>, options: GrpcHealthOptions): GrpcHealthService {
  const watchIntervalMs = options.watchIntervalMs ?? DEFAULT_WATCH_INTERVAL_MS;
  if (!Number.isFinite(watchIntervalMs) || watchIntervalMs <= 0) {
    throw new Error(`invalid watchIntervalMs ${watchIntervalMs}: must be a positive number of milliseconds`);
  }
  const knownServices = ["", ...options.services.filter((name) => name !== "")];
  const logger = options.logger;
  let closed = false;
  let failing = false;
  const shutdown = new AbortController();

  /** Runs the check and maps it to a serving status. A failed check counts as NOT_SERVING. */
  const evaluate = async (): Promise<ServingStatus> => {
    if (closed) return ServingStatus.NOT_SERVING;
    try {
      const status = toServingStatus(await check());
      if (failing) {
        failing = false;
        logger?.info({ status: ServingStatus[status] }, "grpc health check succeeded again");
      }
      return status;
    } catch (error) {
      // Logged once per run of failures, so that a Watch poll every few seconds does not flood the log.
      if (!failing) {
        failing = true;
        logger?.warn({ err: error }, "grpc health check failed, so health reports NOT_SERVING");
      }
      return ServingStatus.NOT_SERVING;
    }
  };
  const monitor = new StatusMonitor(evaluate, watchIntervalMs);

  const requireKnown = (service: string): void => {
    if (!knownServices.includes(service)) {
      throw new ConnectError(
        `unknown service "${service}": health is reported for ${knownServices.map((name) => `"${name}"`).join(", ")}`,
        Code.NotFound,
      );
    }
  };

  const implementation: ServiceImpl<typeof Health> = {
    async check(request: HealthCheckRequest) {
      requireKnown(request.service);
      return { status: await evaluate() };
    },

    async list() {
      const status = await evaluate();
      return { statuses: Object.fromEntries(knownServices.map((name) => [name, { status }])) };
    },

    async *watch(request: HealthCheckRequest, context: HandlerContext) {
      if (!knownServices.includes(request.service)) {
        yield { status: ServingStatus.SERVICE_UNKNOWN };
        // The set of services never changes, so nothing more is sent. The call stays open, as the
        // health checking protocol requires, until the client cancels or the server shuts down.
        await untilAborted(context.signal, shutdown.signal);
        return;
      }
      if (closed) {
        yield { status: ServingStatus.NOT_SERVING };
        return;
      }
      const updates = monitor.subscribe(context.signal);
      try {
        let sent = await evaluate();
        yield { status: sent };
        for await (const status of updates) {
          if (status === sent) continue;
          sent = status;
          yield { status };
        }
      } finally {
        updates.end();
      }
    },
  };

  return {
    implementation,
    register(router) {
      router.service(Health, implementation);
    },
    close() {
      closed = true;
      monitor.endAll(ServingStatus.NOT_SERVING);
      shutdown.abort();
    },
  };
}

function toServingStatus(health: ServerHealth): ServingStatus {
  switch (health) {
    case "SERVING":
    case "DEGRADED":
      return ServingStatus.SERVING;
    case "NOT_SERVING":
      return ServingStatus.NOT_SERVING;
    default:
      throw new Error(`invalid health status ${JSON.stringify(health)}: expected SERVING, DEGRADED or NOT_SERVING`);
  }
}

/** Resolves when any of the signals aborts. */
function untilAborted(...signals: AbortSignal[]): Promise<void> {
  return new Promise((resolve) => {
    const done = () => {
      for (const signal of signals) signal.removeEventListener("abort", done);
      resolve();
    };
    if (signals.some((signal) => signal.aborted)) {
      resolve();
      return;
    }
    for (const signal of signals) signal.addEventListener("abort", done, { once: true });
  });
}
