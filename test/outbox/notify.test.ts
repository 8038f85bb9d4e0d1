import { JobStatus } from "../../gen/es/coordinator/v1/job_pb";
import { HealthStatus } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { OutboxEntryEntity } from "../../src/entities";
import { type JobsClient, jobsClient } from "../support/clients";
import { waitFor } from "../support/database";
import { type FakeDiscord, fakeResponses, startFakeDiscord } from "../support/fake-discord";
import { createJobRequest } from "../support/requests";
import { type TestApp, startTestApp } from "../support/test-app";

let discord: FakeDiscord;
let harness: TestApp;
let client: JobsClient;

beforeEach(async () => {
  discord = await startFakeDiscord();
  harness = await startTestApp("notify", {
    DISCORD_WEBHOOK_URL: discord.webhookUrl,
    DISCORD_API_URL: discord.apiBaseUrl,
    DISCORD_TIMEOUT_MS: "2000",
    OUTBOX_MAX_BACKOFF_MS: "400",
    OUTBOX_STUCK_AFTER_MS: "1500",
  });
  client = jobsClient(harness.baseUrl);
});

afterEach(async () => {
  await harness.close();
  await discord.close();
});

async function runningJob(): Promise<string> {
  const { job } = await client.createJob(createJobRequest());
  await client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING });
  return job!.id;
}

/** Job ids named in the footers of the messages Discord accepted, in order. */
function deliveredJobIds(): string[] {
  return discord.deliveredRequests().map((request) => {
    const body = request.body as { embeds: { footer: { text: string } }[] };
    return body.embeds[0].footer.text.replace("Job ID: ", "");
  });
}

async function openOutboxEntries(): Promise<OutboxEntryEntity[]> {
  return harness.app.orm.em.fork().find(OutboxEntryEntity, { kind: "notify", processedAt: null });
}

test("posts one message for each completion and failure, and none for other changes", async () => {
  const completed = await runningJob();
  await client.updateJobProgress({ id: completed, percent: 50 });
  await client.completeJob({ id: completed, summary: "Opened PR #12" });
  const failed = await runningJob();
  await client.failJob({ id: failed, error: "tests failed", gates: [{ name: "tests", passed: false, message: "2 failing" }] });

  await waitFor(() => discord.deliveredRequests().length >= 2, Boolean, 15_000);
  await new Promise((resolve) => setTimeout(resolve, 500));
  expect(deliveredJobIds().sort()).toEqual([completed, failed].sort());
  const failure = discord.deliveredRequests().find((request) => JSON.stringify(request.body).includes(failed))!;
  expect((failure.body as { allowed_mentions: unknown }).allowed_mentions).toEqual({ parse: [] });
  expect(await openOutboxEntries()).toHaveLength(0);
});

test("posts job.queued when HERALD_EVENTS lists it", async () => {
  await harness.close();
  harness = await startTestApp("notify", {
    DISCORD_WEBHOOK_URL: discord.webhookUrl,
    DISCORD_API_URL: discord.apiBaseUrl,
    HERALD_EVENTS: "job.queued",
  });
  client = jobsClient(harness.baseUrl);

  const { job, dispatched } = await client.createJob(createJobRequest());
  expect(dispatched).toBe(true);
  await waitFor(() => discord.deliveredRequests().length, (count) => count >= 1, 15_000);
  await client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING });
  await new Promise((resolve) => setTimeout(resolve, 500));

  expect(deliveredJobIds()).toEqual([job!.id]);
  const body = discord.deliveredRequests()[0].body as { embeds: { title: string }[] };
  expect(body.embeds[0].title).toContain("Job queued");
  expect(await openOutboxEntries()).toHaveLength(0);
});

test("delivers every notice exactly once after Discord answers 500 and 429 for a while", async () => {
  discord.respondWith(
    fakeResponses.serverError(),
    fakeResponses.serverError(503),
    fakeResponses.rateLimited(0.2),
    fakeResponses.serverError(),
    fakeResponses.serverError(),
  );
  const ids = [await runningJob(), await runningJob(), await runningJob()];
  for (const id of ids) {
    const started = performance.now();
    await client.completeJob({ id, summary: "done" });
    expect(performance.now() - started).toBeLessThan(1000);
  }

  await waitFor(async () => deliveredJobIds().length >= 3 && (await openOutboxEntries()).length === 0, Boolean, 15_000);
  await new Promise((resolve) => setTimeout(resolve, 800));
  expect(deliveredJobIds().sort()).toEqual([...ids].sort());
  expect(discord.requests.length).toBeGreaterThan(3);
  expect(await openOutboxEntries()).toHaveLength(0);
});

test("stops delivering after Discord reports the webhook deleted, and shows it in health", async () => {
  discord.respondWith(fakeResponses.unknownWebhook());
  const first = await runningJob();
  await client.completeJob({ id: first });
  await waitFor(() => discord.requests.length >= 1, Boolean, 15_000);
  await waitFor(async () => (await openOutboxEntries()).every((entry) => entry.abandonedAt !== null), Boolean, 15_000);

  const second = await runningJob();
  await client.completeJob({ id: second });
  await waitFor(async () => (await openOutboxEntries()).filter((entry) => entry.abandonedAt !== null).length === 2, Boolean, 15_000);

  expect(discord.requests).toHaveLength(1);
  const entries = await openOutboxEntries();
  expect(entries.map((entry) => entry.abandonedAt !== null)).toEqual([true, true]);
  const health = await client.getHealth({});
  const herald = health.dependencies.find((dependency) => dependency.name === "herald")!;
  expect(herald.status).toBe(HealthStatus.DEGRADED);
  expect(herald.message).toMatch(/^delivery stopped: /);
  expect(health.dependencies.find((dependency) => dependency.name === "outbox")?.counts.abandoned).toBe(2n);
});

test("turns health DEGRADED while notices wait longer than the stuck threshold", async () => {
  discord.respondWith(...Array.from({ length: 20 }, () => fakeResponses.serverError()));
  const id = await runningJob();
  await client.completeJob({ id });
  await new Promise((resolve) => setTimeout(resolve, 2000));

  const health = await client.getHealth({});
  const outbox = health.dependencies.find((dependency) => dependency.name === "outbox")!;
  expect(health.status).toBe(HealthStatus.DEGRADED);
  expect(outbox.status).toBe(HealthStatus.DEGRADED);
  expect(outbox.message).toMatch(/^backlog stuck: oldest entry waiting \d+ s$/);
  expect(outbox.counts.pending).toBe(1n);
  expect(outbox.counts.oldestAgeMs).toBeGreaterThan(1500n);
});
