/**
 * The service's RPC stack without its database and queue, for `npm run bench:transport`. CreateJob
 * converts the request and builds the response as the real handler does, from a job made in
 * memory. The router has the service's interceptors, the binary parse guard, the REST transcoder
 * and the grpc-message rewrite, and serves on the service's one-port server.
 */
import { randomUUID } from "node:crypto";
import { create, createRegistry } from "@bufbuild/protobuf";
import { type ServiceImpl, createConnectRouter } from "@connectrpc/connect";
import { CoordinatorJobsService, CreateJobResponseSchema } from "../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { JobEntity } from "../src/entities";
import { createLogger } from "../src/logger";
import { guardBinaryParse } from "../src/rpc/binary-parse-guard";
import * as convert from "../src/rpc/convert";
import { withGrpcMessageEncoding } from "../src/rpc/grpc-message";
import { createAuthInterceptor, createDeadlineInterceptor, createLoggingInterceptor } from "../src/rpc/interceptors";
import { createRpcHandler } from "../src/rpc/node-handler";
import { createPortServer } from "../src/server";
import { createTranscoder } from "../src/transcoding";

/** The API key the driver sends, passed in the environment as in the service. */
const API_KEY = { name: "bench", secret: process.env.BENCH_API_KEY ?? "" };
const MAX_BODY_BYTES = 1024 * 1024;

const service: Partial<ServiceImpl<typeof CoordinatorJobsService>> = {
  async createJob(request) {
    const input = convert.createJobInput(request);
    const now = new Date();
    const job = Object.assign(new JobEntity(), {
      id: randomUUID(),
      requestId: input.requestId,
      requestHash: "",
      type: input.type,
      queue: input.queue || "coordinator-jobs",
      priority: input.priority,
      status: "QUEUED",
      source: input.source,
      payload: input.payload,
      version: 2,
      lastEventSequence: 2,
      createdAt: now,
      queuedAt: now,
      updatedAt: now,
    });
    return create(CreateJobResponseSchema, { job: convert.jobToProto(job), created: true, dispatched: true });
  },
};

const logger = createLogger("warn");
const router = createConnectRouter({
  interceptors: [
    createLoggingInterceptor(logger),
    createAuthInterceptor([API_KEY], logger),
    createDeadlineInterceptor(30_000),
  ],
  readMaxBytes: MAX_BODY_BYTES,
});
router.service(CoordinatorJobsService, service);
const handlers = router.handlers.map((handler) => guardBinaryParse(handler, MAX_BODY_BYTES, logger));
const transcoder = createTranscoder({ services: [CoordinatorJobsService], handlers, registry: createRegistry(), maxBodyBytes: MAX_BODY_BYTES, logger });
const handler = withGrpcMessageEncoding(
  createRpcHandler(handlers, (request, response) => void transcoder.handle(request, response), logger),
);
const portServer = createPortServer(handler);

portServer.server.listen(Number(process.env.PORT), "127.0.0.1", () => process.send?.({ type: "ready" }));

// The driver reads this process's CPU time at the start and the end of each measured window.
let windowStart = process.cpuUsage();
process.on("message", (message: { type: string }) => {
  if (message.type === "start") windowStart = process.cpuUsage();
  if (message.type === "end") {
    const used = process.cpuUsage(windowStart);
    process.send?.({ type: "cpu", cpuMs: (used.user + used.system) / 1000 });
  }
});
process.on("SIGTERM", () => process.exit(0));
