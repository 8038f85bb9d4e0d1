import { jobsClient } from "../support/clients";
import { createJobRequest, expectConnectError } from "../support/requests";
import { type TestApp, startTestApp } from "../support/test-app";

let harness: TestApp;

beforeAll(async () => {
  harness = await startTestApp("metrics");
});

afterAll(async () => {
  await harness.close();
});

test("counts calls by method and code and outbox attempts at /metrics", async () => {
  const client = jobsClient(harness.baseUrl);
  await client.createJob(createJobRequest());
  await expectConnectError(client.getJob({ id: "not-a-uuid" }));

  const response = await fetch(`${harness.baseUrl}/metrics`);
  expect(response.status).toBe(200);
  expect(response.headers.get("content-type")).toMatch(/^text\/plain/);
  const text = await response.text();
  expect(text).toMatch(/^coordinator_rpc_duration_seconds_count\{method="CreateJob",code="OK"\} 1$/m);
  expect(text).toMatch(/^coordinator_rpc_duration_seconds_count\{method="GetJob",code="InvalidArgument"\} 1$/m);
  expect(text).toMatch(/^coordinator_outbox_attempts_total\{kind="dispatch",outcome="done"\} 1$/m);
  expect(text).toMatch(/^process_resident_memory_bytes \d+/m);
});
