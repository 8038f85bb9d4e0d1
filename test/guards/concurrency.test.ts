import { Code, ConnectError } from "@connectrpc/connect";
import { JobStatus } from "../../gen/es/coordinator/v1/job_pb";
import { jobsClient } from "../support/clients";
import { createJobRequest } from "../support/requests";
import { type TestApp, startTestApp } from "../support/test-app";

const ROUNDS = 200;
const TERMINAL_EVENTS = new Set(["job.completed", "job.failed", "job.cancelled"]);
let harness: TestApp;

beforeAll(async () => {
  harness = await startTestApp("concurrency", { DATABASE_POOL_SIZE: "20" });
});

afterAll(async () => {
  await harness.close();
});

test(`ends ${ROUNDS} rounds of conflicting calls with exactly one winner each`, async () => {
  const client = jobsClient(harness.baseUrl, "connect-binary-http2");
  const rejectedCodes = new Set<string>();
  for (let round = 0; round < ROUNDS; round += 1) {
    const { job } = await client.createJob(createJobRequest());
    const running = await client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING });
    const version = running.job!.version;
    const eventsBefore = (await client.getJob({ id: job!.id, pageSize: 100 })).events.length;
    const outcomes = await Promise.allSettled([
      client.completeJob({ id: job!.id, result: { round }, expectedVersion: version }),
      client.failJob({ id: job!.id, error: `round ${round}`, expectedVersion: version }),
      client.updateJobStatus({ id: job!.id, status: JobStatus.CANCELLED, expectedVersion: version }),
      client.updateJobProgress({ id: job!.id, percent: 50, expectedVersion: version }),
    ]);
    const winners = outcomes.filter((outcome) => outcome.status === "fulfilled");
    expect(winners).toHaveLength(1);
    for (const outcome of outcomes) {
      if (outcome.status === "rejected") {
        const error = ConnectError.from(outcome.reason);
        expect([Code.Aborted, Code.FailedPrecondition]).toContain(error.code);
        rejectedCodes.add(Code[error.code]);
      }
    }
    const page = await client.getJob({ id: job!.id, pageSize: 100 });
    const changes = page.events.slice(eventsBefore);
    expect(changes).toHaveLength(1);
    expect(page.job!.version).toBe(version + 1n);
    const terminal = page.events.filter((event) => TERMINAL_EVENTS.has(event.type));
    expect(terminal.length).toBeLessThanOrEqual(1);
  }
  expect(rejectedCodes.has("FailedPrecondition")).toBe(true);
}, 120_000);

test("same-version writers: one wins, one ABORTED", async () => {
  const client = jobsClient(harness.baseUrl, "connect-binary-http2");
  const { job } = await client.createJob(createJobRequest());
  let version = (await client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING })).job!.version;
  for (let round = 1; round <= 50; round += 1) {
    const outcomes = await Promise.allSettled([
      client.updateJobProgress({ id: job!.id, percent: round, message: "writer A", expectedVersion: version }),
      client.updateJobProgress({ id: job!.id, percent: round, message: "writer B", expectedVersion: version }),
    ]);
    const rejected = outcomes.filter((outcome) => outcome.status === "rejected");
    expect(rejected).toHaveLength(1);
    expect(ConnectError.from((rejected[0] as PromiseRejectedResult).reason).code).toBe(Code.Aborted);
    version += 1n;
  }
  const page = await client.getJob({ id: job!.id, pageSize: 1000 });
  expect(page.job!.version).toBe(version);
  expect(page.events.filter((event) => event.type === "job.progress")).toHaveLength(50);
}, 60_000);
