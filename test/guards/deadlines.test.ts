import { Code } from "@connectrpc/connect";
import { JobStatus } from "../../gen/es/coordinator/v1/job_pb";
import { jobsClient } from "../support/clients";
import { createJobRequest, expectConnectError } from "../support/requests";
import { lockJobRow } from "../support/database";
import { type TestApp, startTestApp } from "../support/test-app";

let harness: TestApp;

beforeAll(async () => {
  harness = await startTestApp("deadlines", { DEFAULT_DEADLINE_MS: "1500" });
});

afterAll(async () => {
  await harness.close();
});

async function waitForUnlockedWork(): Promise<void> {
  await new Promise((resolve) => setTimeout(resolve, 300));
}

test("ends a call past the client's deadline with DEADLINE_EXCEEDED and rolls its change back", async () => {
  const client = jobsClient(harness.baseUrl);
  const { job } = await client.createJob(createJobRequest());
  const lock = await lockJobRow(harness.config.databaseSchema, job!.id);
  try {
    const error = await expectConnectError(client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING }, { timeoutMs: 300 }));
    expect(error.code).toBe(Code.DeadlineExceeded);
  } finally {
    await lock.release();
  }
  await waitForUnlockedWork();
  const page = await client.getJob({ id: job!.id });
  expect(page.job!.status).toBe(JobStatus.QUEUED);
  expect(page.events.map((event) => event.type)).toEqual(["job.created", "job.queued"]);
});

test("bounds a call without a client deadline by the server default", async () => {
  const client = jobsClient(harness.baseUrl);
  const { job } = await client.createJob(createJobRequest());
  const lock = await lockJobRow(harness.config.databaseSchema, job!.id);
  const started = performance.now();
  try {
    const error = await expectConnectError(client.updateJobStatus({ id: job!.id, status: JobStatus.CANCELLED }));
    expect(error.code).toBe(Code.DeadlineExceeded);
    expect(error.rawMessage).toBe("the request ran past its deadline; its changes were rolled back");
    expect(performance.now() - started).toBeGreaterThanOrEqual(1400);
  } finally {
    await lock.release();
  }
  await waitForUnlockedWork();
  const page = await client.getJob({ id: job!.id });
  expect(page.job!.status).toBe(JobStatus.QUEUED);
  expect(page.events).toHaveLength(2);
});
