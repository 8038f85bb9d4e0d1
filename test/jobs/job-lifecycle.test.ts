import { Code } from "@connectrpc/connect";
import { JobStatus, StepStatus } from "../../gen/es/coordinator/v1/job_pb";
import { type JobsClient, jobsClient } from "../support/clients";
import { createJobRequest, expectConnectError, summarizeError } from "../support/requests";
import { type TestApp, startTestApp } from "../support/test-app";

let harness: TestApp;
let client: JobsClient;

beforeAll(async () => {
  harness = await startTestApp("lifecycle");
  client = jobsClient(harness.baseUrl);
});

afterAll(async () => {
  await harness.close();
});

async function runningJob() {
  const { job } = await client.createJob(createJobRequest());
  await client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING });
  return job!.id;
}

async function eventTypes(id: string): Promise<string[]> {
  const page = await client.getJob({ id, pageSize: 1000 });
  return page.events.map((event) => event.type);
}

describe("CreateJob", () => {
  test("stores the job, dispatches it and records created and queued events", async () => {
    const request = createJobRequest({ priority: 5 });
    const response = await client.createJob(request);
    expect(response.created).toBe(true);
    expect(response.dispatched).toBe(true);
    const job = response.job!;
    expect(job.status).toBe(JobStatus.QUEUED);
    expect(job.queue).toBe("coordinator-jobs");
    expect(job.priority).toBe(5);
    expect(job.version).toBe(2n);
    expect(job.source?.repository).toBe("octo/widgets");
    expect(job.payload).toEqual({ title: "Fix the widget", labels: ["agent"] });
    expect(job.queuedAt).toBeDefined();

    const page = await client.getJob({ id: job.id });
    expect(page.events.map((event) => [event.sequence, event.type, event.actor])).toEqual([
      [1n, "job.created", "coordinator"],
      [2n, "job.queued", "system"],
    ]);
  });

  test("returns the first job for a repeated request_id with the same request", async () => {
    const request = createJobRequest();
    const first = await client.createJob(request);
    const second = await client.createJob(request);
    expect(second.created).toBe(false);
    expect(second.job!.id).toBe(first.job!.id);
    expect(await eventTypes(first.job!.id)).toEqual(["job.created", "job.queued"]);
  });

  test("rejects a reused request_id with a different request", async () => {
    const request = createJobRequest();
    const first = await client.createJob(request);
    const error = await expectConnectError(client.createJob({ ...request, type: "review" }));
    expect(summarizeError(error)).toEqual({
      code: "AlreadyExists",
      reason: "REQUEST_ID_REUSED",
      metadata: { request_id: request.requestId, id: first.job!.id },
    });
  });

  test("makes one job from concurrent creates with one request_id", async () => {
    const request = createJobRequest();
    const responses = await Promise.all(Array.from({ length: 8 }, () => client.createJob(request)));
    const ids = new Set(responses.map((response) => response.job!.id));
    expect(ids.size).toBe(1);
    expect(responses.filter((response) => response.created)).toHaveLength(1);
  });

  test("rejects invalid fields with a BadRequest naming each one", async () => {
    const error = await expectConnectError(
      client.createJob(createJobRequest({ requestId: "", type: "no spaces", priority: -1, source: { repository: "not-a-repo" } })),
    );
    expect(error.code).toBe(Code.InvalidArgument);
    expect(error.rawMessage).toBe("invalid request_id: must not be empty (and 3 more)");
    expect(summarizeError(error).fields).toEqual(["request_id", "type", "priority", "source.repository"]);
  });
});

describe("UpdateJobStatus", () => {
  test("moves along the legal transitions with one event each", async () => {
    const { job } = await client.createJob(createJobRequest());
    const running = await client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING, message: "picked up" });
    expect(running.job!.status).toBe(JobStatus.RUNNING);
    expect(running.job!.version).toBe(3n);
    expect(running.job!.startedAt).toBeDefined();
    const cancelled = await client.updateJobStatus({ id: job!.id, status: JobStatus.CANCELLED });
    expect(cancelled.job!.status).toBe(JobStatus.CANCELLED);
    expect(cancelled.job!.completedAt).toBeDefined();
    expect(await eventTypes(job!.id)).toEqual(["job.created", "job.queued", "job.started", "job.cancelled"]);
  });

  test("answers a repeated move with the current job and no new event", async () => {
    const id = await runningJob();
    const again = await client.updateJobStatus({ id, status: JobStatus.RUNNING });
    expect(again.job!.version).toBe(3n);
    const lateQueued = await client.updateJobStatus({ id, status: JobStatus.QUEUED });
    expect(lateQueued.job!.status).toBe(JobStatus.RUNNING);
    expect(await eventTypes(id)).toEqual(["job.created", "job.queued", "job.started"]);
  });

  test("rejects a move out of a terminal status with INVALID_TRANSITION", async () => {
    const id = await runningJob();
    await client.completeJob({ id, result: { ok: true } });
    const error = await expectConnectError(client.updateJobStatus({ id, status: JobStatus.CANCELLED }));
    expect(summarizeError(error)).toEqual({
      code: "FailedPrecondition",
      reason: "INVALID_TRANSITION",
      metadata: { id, from: "COMPLETED", to: "CANCELLED" },
    });
    expect(error.rawMessage).toBe(`job ${id} cannot move from COMPLETED to CANCELLED`);
    expect(await eventTypes(id)).toEqual(["job.created", "job.queued", "job.started", "job.completed"]);
  });

  test("rejects an unspecified or unknown status", async () => {
    const { job } = await client.createJob(createJobRequest());
    const unspecified = await expectConnectError(client.updateJobStatus({ id: job!.id, status: JobStatus.UNSPECIFIED }));
    expect(summarizeError(unspecified).fields).toEqual(["status"]);
    expect(unspecified.rawMessage).toBe(
      "invalid status: must be set to the status to move to: one of JOB_STATUS_QUEUED, JOB_STATUS_RUNNING, JOB_STATUS_COMPLETED, JOB_STATUS_FAILED, JOB_STATUS_CANCELLED",
    );
    const unknown = await expectConnectError(client.updateJobStatus({ id: job!.id, status: 42 as JobStatus }));
    expect(unknown.rawMessage).toBe("invalid status: must be a known JobStatus, got the unknown value 42");
  });

  test("rejects a stale expected_version with ABORTED and changes nothing", async () => {
    const { job } = await client.createJob(createJobRequest());
    const error = await expectConnectError(client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING, expectedVersion: 1n }));
    expect(summarizeError(error)).toEqual({
      code: "Aborted",
      reason: "VERSION_MISMATCH",
      metadata: { id: job!.id, expected_version: "1", version: "2" },
    });
    const current = await client.getJob({ id: job!.id });
    expect(current.job!.status).toBe(JobStatus.QUEUED);
    const moved = await client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING, expectedVersion: 2n });
    expect(moved.job!.version).toBe(3n);
  });

  test("answers NOT_FOUND for an unknown job and INVALID_ARGUMENT for a malformed id", async () => {
    const missing = "00000000-0000-4000-8000-000000000000";
    const notFound = await expectConnectError(client.updateJobStatus({ id: missing, status: JobStatus.RUNNING }));
    expect(summarizeError(notFound)).toEqual({ code: "NotFound", reason: "JOB_NOT_FOUND", metadata: { id: missing } });
    const malformed = await expectConnectError(client.updateJobStatus({ id: "42", status: JobStatus.RUNNING }));
    expect(malformed.rawMessage).toBe('invalid id: must be a UUID, got "42"');
  });
});

describe("UpdateJobProgress", () => {
  test("records progress and opens and closes steps", async () => {
    const id = await runningJob();
    await client.updateJobProgress({ id, percent: 10, message: "reading the issue", step: { name: "plan", phase: "plan" } });
    await client.updateJobProgress({ id, percent: 40, message: "editing", step: { name: "implement", phase: "build" } });
    const last = await client.updateJobProgress({ id, percent: 60, message: "still editing", step: { name: "implement", phase: "build" } });
    expect(last.job!.progressPercent).toBe(60);
    expect(last.job!.progressMessage).toBe("still editing");

    const page = await client.getJob({ id });
    expect(page.steps.map((step) => [step.ordinal, step.name, step.status, step.output])).toEqual([
      [1, "plan", StepStatus.COMPLETED, "reading the issue"],
      [2, "implement", StepStatus.RUNNING, "still editing"],
    ]);
    expect(page.events.map((event) => event.type)).toEqual([
      "job.created",
      "job.queued",
      "job.started",
      "step.started",
      "job.progress",
      "step.completed",
      "step.started",
      "job.progress",
      "job.progress",
    ]);
  });

  test("acknowledges a lower percent without change", async () => {
    const id = await runningJob();
    await client.updateJobProgress({ id, percent: 50, message: "half" });
    const stale = await client.updateJobProgress({ id, percent: 30, message: "older report" });
    expect(stale.job!.progressPercent).toBe(50);
    expect(stale.job!.progressMessage).toBe("half");
    expect(await eventTypes(id)).toEqual(["job.created", "job.queued", "job.started", "job.progress"]);
  });

  test("rejects progress for a job that is not running", async () => {
    const { job } = await client.createJob(createJobRequest());
    const error = await expectConnectError(client.updateJobProgress({ id: job!.id, percent: 10 }));
    expect(summarizeError(error)).toEqual({
      code: "FailedPrecondition",
      reason: "JOB_NOT_RUNNING",
      metadata: { id: job!.id, status: "QUEUED" },
    });
  });

  test("rejects a percent above 100", async () => {
    const id = await runningJob();
    const error = await expectConnectError(client.updateJobProgress({ id, percent: 101 }));
    expect(error.rawMessage).toBe("invalid percent: must be a whole number from 0 to 100, got 101");
  });
});

describe("CompleteJob and FailJob", () => {
  test("completes with the result, sets progress to 100 and closes the open step", async () => {
    const id = await runningJob();
    await client.updateJobProgress({ id, percent: 80, step: { name: "verify", phase: "test" } });
    const done = await client.completeJob({ id, result: { pullRequest: 12, files: ["a.ts"] }, summary: "Opened PR #12" });
    expect(done.job!.status).toBe(JobStatus.COMPLETED);
    expect(done.job!.progressPercent).toBe(100);
    expect(done.job!.result).toEqual({ pullRequest: 12, files: ["a.ts"] });
    const page = await client.getJob({ id });
    expect(page.steps.map((step) => step.status)).toEqual([StepStatus.COMPLETED]);
    expect(page.events.slice(-2).map((event) => event.type)).toEqual(["step.completed", "job.completed"]);
  });

  test("accepts the same completion twice with one event, and rejects a different one", async () => {
    const id = await runningJob();
    await client.completeJob({ id, result: { a: 1, b: 2 }, summary: "done" });
    const repeat = await client.completeJob({ id, result: { b: 2, a: 1 }, summary: "done" });
    expect(repeat.job!.version).toBe(4n);
    const error = await expectConnectError(client.completeJob({ id, result: { a: 2 }, summary: "done" }));
    expect(summarizeError(error)).toEqual({
      code: "FailedPrecondition",
      reason: "JOB_ALREADY_FINISHED",
      metadata: { id, status: "COMPLETED" },
    });
    expect((await eventTypes(id)).filter((type) => type === "job.completed")).toHaveLength(1);
  });

  test("fails with the error and every gate result stored", async () => {
    const id = await runningJob();
    const gates = [
      { name: "typecheck", passed: true, message: "ok" },
      { name: "tests", passed: false, message: "2 failing", details: { failing: ["a", "b"] } },
    ];
    const failed = await client.failJob({ id, error: "tests failed", gates });
    expect(failed.job!.status).toBe(JobStatus.FAILED);
    expect(failed.job!.error).toBe("tests failed");
    expect(failed.job!.gates.map((gate) => [gate.name, gate.passed, gate.message, gate.details])).toEqual([
      ["typecheck", true, "ok", {}],
      ["tests", false, "2 failing", { failing: ["a", "b"] }],
    ]);
    const repeat = await client.failJob({ id, error: "tests failed", gates });
    expect(repeat.job!.version).toBe(failed.job!.version);
    const page = await client.getJob({ id });
    expect(page.events.at(-1)?.payload).toEqual({ from: "RUNNING", to: "FAILED", error: "tests failed", failedGates: ["tests"] });
  });

  test("rejects completing a job that never ran", async () => {
    const { job } = await client.createJob(createJobRequest());
    const error = await expectConnectError(client.completeJob({ id: job!.id }));
    expect(summarizeError(error).reason).toBe("INVALID_TRANSITION");
  });

  test("lets exactly one of concurrent complete and fail calls win", async () => {
    for (let round = 0; round < 10; round += 1) {
      const id = await runningJob();
      const outcomes = await Promise.allSettled([
        client.completeJob({ id, result: { round } }),
        client.failJob({ id, error: "boom" }),
        client.updateJobStatus({ id, status: JobStatus.CANCELLED }),
      ]);
      expect(outcomes.filter((outcome) => outcome.status === "fulfilled")).toHaveLength(1);
      const terminal = (await eventTypes(id)).filter((type) => ["job.completed", "job.failed", "job.cancelled"].includes(type));
      expect(terminal).toHaveLength(1);
    }
  });
});

describe("GetJob", () => {
  test("pages events with page_size and page_token", async () => {
    const id = await runningJob();
    for (let percent = 1; percent <= 7; percent += 1) await client.updateJobProgress({ id, percent });
    const first = await client.getJob({ id, pageSize: 4 });
    expect(first.events.map((event) => event.sequence)).toEqual([1n, 2n, 3n, 4n]);
    const second = await client.getJob({ id, pageSize: 4, pageToken: first.nextPageToken });
    expect(second.events.map((event) => event.sequence)).toEqual([5n, 6n, 7n, 8n]);
    const third = await client.getJob({ id, pageSize: 4, pageToken: second.nextPageToken });
    expect(third.events.map((event) => event.sequence)).toEqual([9n, 10n]);
    expect(third.nextPageToken).toBe("");
  });

  test("rejects a page token of another job", async () => {
    const id = await runningJob();
    for (let percent = 1; percent <= 3; percent += 1) await client.updateJobProgress({ id, percent });
    const { nextPageToken } = await client.getJob({ id, pageSize: 2 });
    const other = await runningJob();
    const error = await expectConnectError(client.getJob({ id: other, pageToken: nextPageToken }));
    expect(summarizeError(error).fields).toEqual(["page_token"]);
  });
});
