/**
 * Builds the whole service from a Config: database, queue, Herald, job service, outbox relay,
 * health, and the one-port server. Tests build it with their own schema and queue prefix, listen on
 * port 0, and close it.
 */
import type { AddressInfo } from "node:net";
import {
  CoordinatorJobsService,
  type GetHealthResponse,
  HealthStatus,
  file_coordinator_v1_coordinator_jobs_service,
} from "../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { file_grpc_health_v1_health } from "../gen/es/grpc/health/v1/health_pb";
import { file_google_rpc_error_details } from "../gen/es/google/rpc/error_details_pb";
import { type Config, redactUrl } from "./config";
import { type Orm, openDatabase } from "./database";
import { createGrpcHealthService } from "./grpc-health";
import { HealthService } from "./health/health-service";
import { type Herald, HeraldError, HeraldTransientError, createHerald } from "./herald";
import { JobService } from "./jobs/job-service";
import type { Logger } from "./logger";
import { createMetrics, createMetricsHandler } from "./metrics/metrics";
import { createOpenApiHandler } from "./openapi";
import { OutboxRelay } from "./outbox/outbox-relay";
import { QueueDispatcher } from "./outbox/queue-dispatcher";
import { createReflectionServices } from "./reflection";
import { createCoordinatorService } from "./rpc/coordinator-service";
import { createRpcStack } from "./rpc/rpc-stack";
import { type PortServer, createPortServer } from "./server";

export interface App {
  orm: Orm;
  jobs: JobService;
  relay: OutboxRelay;
  dispatcher: QueueDispatcher;
  herald: Herald;
  /** Starts listening; resolves with the bound port. */
  listen(port?: number, host?: string): Promise<number>;
  /** Graceful stop: no new connections, in-flight calls finish, the relay stops, pools close. */
  close(): Promise<void>;
}

export async function createApp(config: Config, logger: Logger): Promise<App> {
  const metrics = createMetrics();
  const orm = await openDatabase(config, logger);
  const dispatcher = new QueueDispatcher({
    redisUrl: config.redisUrl,
    prefix: config.queuePrefix,
    defaultQueue: config.defaultQueue,
    commandTimeoutMs: config.redisCommandTimeoutMs,
    retentionSeconds: config.queueRetentionSeconds,
    logger,
  });
  const herald = createHerald({
    webhookUrl: config.discordWebhookUrl,
    apiBaseUrl: config.discordApiUrl,
    requestTimeoutMs: config.discordTimeoutMs,
    logger,
  });

  let relay: OutboxRelay | undefined;
  const jobs = new JobService(orm, {
    defaultQueue: config.defaultQueue,
    heraldEvents: new Set(herald.configured ? config.heraldEvents : []),
    // Longer than the call's own attempt can take, so the relay never races it.
    dispatchLeaseMs: config.dispatchTimeoutMs + config.redisCommandTimeoutMs + 5000,
    onOutboxWritten: () => relay?.wake(),
  });
  relay = new OutboxRelay(
    orm,
    jobs,
    dispatcher,
    herald.configured
      ? {
          send: (notice) => herald.send(notice),
          isPermanent: (error) => error instanceof HeraldError && !(error instanceof HeraldTransientError),
        }
      : undefined,
    {
      batchSize: config.outboxBatchSize,
      leaseMs: config.outboxLeaseMs,
      pollIntervalMs: config.outboxPollIntervalMs,
      maxBackoffMs: config.outboxMaxBackoffMs,
      retentionSeconds: config.outboxRetentionSeconds,
      logger,
      onAttempt: (kind, outcome) => metrics.outboxAttempts.inc({ kind, outcome }),
    },
  );
  const health = new HealthService(orm, dispatcher, {
    probeTimeoutMs: config.healthProbeTimeoutMs,
    outboxStuckAfterMs: config.outboxStuckAfterMs,
    heraldState: () => herald.state(),
    logger,
  });

  const service = createCoordinatorService({ jobs, relay, health, dispatchTimeoutMs: config.dispatchTimeoutMs });
  // grpc.health.v1.Health: DEGRADED counts as SERVING, because the service still accepts work.
  const grpcHealth = createGrpcHealthService(async () => (await health.check()).status, {
    services: [CoordinatorJobsService.typeName],
    logger,
  });
  const serveOpenApi = createOpenApiHandler();
  const serveMetrics = createMetricsHandler(metrics.registry);
  const handler = createRpcStack({
    apiKeys: config.apiKeys,
    defaultDeadlineMs: config.defaultDeadlineMs,
    maxBodyBytes: config.maxBodyBytes,
    logger,
    register: (router) => {
      router.service(CoordinatorJobsService, service);
      grpcHealth.register(router);
      // Server reflection lists CoordinatorJobsService, Health and itself, so clients need no .proto files.
      // The error details file lets them decode the google.rpc details of gRPC errors too.
      createReflectionServices([file_coordinator_v1_coordinator_jobs_service, file_grpc_health_v1_health, file_google_rpc_error_details]).register(
        router,
      );
    },
    restServices: [CoordinatorJobsService],
    // REST returns 503 when the service cannot serve, so load balancers and probes see it.
    successStatus: new Map([
      [
        CoordinatorJobsService.method.getHealth,
        (response) => ((response as GetHealthResponse).status === HealthStatus.NOT_SERVING ? 503 : undefined),
      ],
    ]),
    observe: (method, code, seconds) => metrics.rpcDuration.observe({ method, code }, seconds),
    serveOther: (request, response) => serveOpenApi(request, response) || serveMetrics(request, response),
  });
  const portServer: PortServer = createPortServer(handler, {
    tlsCertFile: config.tlsCertFile,
    tlsKeyFile: config.tlsKeyFile,
    headersTimeoutMs: config.headersTimeoutMs,
    requestTimeoutMs: config.requestTimeoutMs,
  });

  // Health reads Redis as down while the first connection is still being made, so wait for it briefly.
  if (!(await dispatcher.waitForConnection(config.redisCommandTimeoutMs))) {
    logger.warn({ redisUrl: redactUrl(config.redisUrl) }, "Redis is not reachable yet; new jobs stay PENDING until it is");
  }
  relay.start();
  return {
    orm,
    jobs,
    relay,
    dispatcher,
    herald,
    listen: (port = config.port, host = config.host) =>
      new Promise((resolve, reject) => {
        portServer.server.once("error", reject);
        portServer.server.listen(port, host, () => resolve((portServer.server.address() as AddressInfo).port));
      }),
    close: async () => {
      // Open Watch calls get NOT_SERVING and end, so they do not hold the shutdown for the grace period.
      grpcHealth.close();
      await portServer.close(config.shutdownGraceMs);
      await relay.stop();
      await herald.close();
      await dispatcher.close();
      await orm.close();
    },
  };
}
