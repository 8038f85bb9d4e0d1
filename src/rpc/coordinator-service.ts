/**
 * The CoordinatorJobsService handlers: convert the request, call the job service, convert the
 * response. Errors are normalised by the error interceptor, not here.
 */
import { create } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import type { HandlerContext, ServiceImpl } from "@connectrpc/connect";
import {
  CompleteJobResponseSchema,
  CoordinatorJobsService,
  CreateJobResponseSchema,
  DependencyHealthSchema,
  FailJobResponseSchema,
  GetHealthResponseSchema,
  GetJobResponseSchema,
  HealthStatus,
  UpdateJobProgressResponseSchema,
  UpdateJobStatusResponseSchema,
} from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import type { JobEntity, OutboxEntryEntity } from "../entities";
import type { HealthService } from "../health/health-service";
import type { CallContext, JobService } from "../jobs/job-service";
import type { OutboxRelay } from "../outbox/outbox-relay";
import { withTimeout } from "../timeout";
import { actorKey, deadlineSignalKey } from "./context";
import * as convert from "./convert";

export interface CoordinatorServiceDeps {
  jobs: JobService;
  relay: OutboxRelay;
  health: HealthService;
  /** How long CreateJob waits for the first dispatch attempt before returning the job as PENDING. */
  dispatchTimeoutMs: number;
}

function callContext(context: HandlerContext): CallContext {
  return { actor: context.values.get(actorKey), signal: context.values.get(deadlineSignalKey) ?? context.signal };
}

export function createCoordinatorService(deps: CoordinatorServiceDeps): ServiceImpl<typeof CoordinatorJobsService> {
  const { jobs, relay, health } = deps;

  /**
   * Tries the new job's dispatch at once and returns the job as it is after it. If the dispatch
   * fails, the entry is already scheduled for a retry by the relay; if it takes too long, it goes
   * on and either finishes or is retried after its lease. Either way the job is returned as created.
   */
  async function dispatchNow(entry: OutboxEntryEntity, job: JobEntity): Promise<JobEntity> {
    try {
      return (await withTimeout(relay.deliverDispatch(entry, job), deps.dispatchTimeoutMs, "dispatch")) ?? job;
    } catch {
      return job;
    }
  }

  return {
    async createJob(request, context) {
      const result = await jobs.create(convert.createJobInput(request), callContext(context));
      const job = result.dispatch ? await dispatchNow(result.dispatch, result.job) : result.job;
      return create(CreateJobResponseSchema, {
        job: convert.jobToProto(job),
        created: result.created,
        dispatched: job.status !== "PENDING",
      });
    },

    async updateJobStatus(request, context) {
      const job = await jobs.updateStatus(convert.updateStatusInput(request), callContext(context));
      return create(UpdateJobStatusResponseSchema, { job: convert.jobToProto(job) });
    },

    async updateJobProgress(request, context) {
      const job = await jobs.updateProgress(convert.updateProgressInput(request), callContext(context));
      return create(UpdateJobProgressResponseSchema, { job: convert.jobToProto(job) });
    },

    async completeJob(request, context) {
      const job = await jobs.complete(convert.completeJobInput(request), callContext(context));
      return create(CompleteJobResponseSchema, { job: convert.jobToProto(job) });
    },

    async failJob(request, context) {
      const job = await jobs.fail(convert.failJobInput(request), callContext(context));
      return create(FailJobResponseSchema, { job: convert.jobToProto(job) });
    },

    async getJob(request) {
      const page = await jobs.get(convert.getJobInput(request));
      return create(GetJobResponseSchema, {
        job: convert.jobToProto(page.job),
        steps: page.steps.map(convert.stepToProto),
        events: page.events.map(convert.eventToProto),
        nextPageToken: page.nextPageToken,
      });
    },

    async getHealth() {
      const report = await health.check();
      return create(GetHealthResponseSchema, {
        status: HealthStatus[report.status],
        checkedAt: timestampFromDate(report.checkedAt),
        dependencies: report.dependencies.map((dependency) =>
          create(DependencyHealthSchema, {
            name: dependency.name,
            status: HealthStatus[dependency.status],
            message: dependency.message,
            latencyMs: BigInt(dependency.latencyMs),
            counts: Object.fromEntries(Object.entries(dependency.counts).map(([key, value]) => [key, BigInt(value)])),
            details: dependency.details,
          }),
        ),
      });
    },
  };
}
