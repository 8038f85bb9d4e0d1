/**
 * The service's RPC stack (src/rpc/rpc-stack.ts) without its database and queue, for
 * `npm run bench:transport`, on the service's one-port server. CreateJob converts the request and
 * builds the response as the real handler does, from a job made in memory.
 */
import { randomUUID } from "node:crypto";
import { create } from "@bufbuild/protobuf";
import type { ServiceImpl } from "@connectrpc/connect";
import { CoordinatorJobsService, CreateJobResponseSchema } from "../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { JobEntity } from "../src/entities";
import { createLogger } from "../src/logger";
import * as convert from "../src/rpc/convert";
import { createRpcStack } from "../src/rpc/rpc-stack";
import { createPortServer } from "../src/server";

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
const handler = createRpcStack({
  apiKeys: [API_KEY],
  defaultDeadlineMs: 30_000,
  maxBodyBytes: MAX_BODY_BYTES,
  logger,
  register: (router) => router.service(CoordinatorJobsService, service),
  restServices: [CoordinatorJobsService],
});
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
