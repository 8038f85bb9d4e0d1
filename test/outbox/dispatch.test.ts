import { Queue } from "bullmq";
import IORedis from "ioredis";
import { JobStatus } from "../../gen/es/coordinator/v1/job_pb";
import { HealthStatus } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { OutboxEntryEntity } from "../../src/entities";
import { createLogger } from "../../src/logger";
import { QueueDispatcher } from "../../src/outbox/queue-dispatcher";
import { jobsClient } from "../support/clients";
import { waitFor } from "../support/database";
import { RedisProcess, freePort } from "../support/redis-process";
import { createJobRequest } from "../support/requests";
import { TEST_REDIS_URL, type TestApp, startTestApp, uniqueName } from "../support/test-app";

describe("dispatch to BullMQ", () => {
  let harness: TestApp;
  let queue: Queue;
  let connection: IORedis;

  beforeAll(async () => {
    harness = await startTestApp("dispatch");
    connection = new IORedis(harness.config.redisUrl, { maxRetriesPerRequest: null });
    queue = new Queue(harness.config.defaultQueue, { connection, prefix: harness.config.queuePrefix });
  });

  afterAll(async () => {
    await queue.close();
    connection.disconnect();
    await harness.close();
  });

  test("adds the job with its id as the BullMQ jobId and its data", async () => {
    const client = jobsClient(harness.baseUrl);
    const { job } = await client.createJob(createJobRequest({ type: "review", priority: 3 }));
    const bullJob = await queue.getJob(job!.id);
    expect(bullJob?.name).toBe("review");
    expect(bullJob?.opts.priority).toBe(3);
    expect(bullJob?.data).toMatchObject({ jobId: job!.id, type: "review", payload: { title: "Fix the widget", labels: ["agent"] } });
  });

  test("makes no second BullMQ job or event when a dispatch is performed again", async () => {
    const client = jobsClient(harness.baseUrl);
    const { job } = await client.createJob(createJobRequest());
    const before = await queue.getJobCountByTypes("waiting", "prioritized");

    // A relay that crashed after queue.add but before its commit leaves the entry to be performed again.
    const em = harness.app.orm.em.fork();
    const entry = em.create(OutboxEntryEntity, {
      kind: "dispatch",
      jobId: job!.id,
      payload: {},
      attempts: 0,
      createdAt: new Date(),
      availableAt: new Date(),
    });
    await em.flush();
    await harness.app.relay.drain();
    const row = await harness.app.orm.em.fork().findOneOrFail(OutboxEntryEntity, { id: entry.id });
    expect(row.processedAt).not.toBeNull();

    expect(await queue.getJobCountByTypes("waiting", "prioritized")).toBe(before);
    const page = await client.getJob({ id: job!.id });
    expect(page.events.filter((event) => event.type === "job.queued")).toHaveLength(1);
  });

  test("reports the queue healthy right after start", async () => {
    const fresh = await startTestApp("health_start");
    try {
      const health = await jobsClient(fresh.baseUrl).getHealth({});
      expect(health.dependencies.find((dependency) => dependency.name === "queue")?.status).toBe(HealthStatus.SERVING);
      expect(health.status).toBe(HealthStatus.SERVING);
    } finally {
      await fresh.close();
    }
  });

  test("deletes processed entries past their retention and keeps the rest", async () => {
    const client = jobsClient(harness.baseUrl);
    const jobIds: string[] = [];
    for (let i = 0; i < 3; i += 1) jobIds.push((await client.createJob(createJobRequest())).job!.id);
    const connection = harness.app.orm.em.getConnection();
    const eightDaysAgo = new Date(Date.now() - 8 * 24 * 3600 * 1000);
    // Two processed entries past the 7-day default, one abandoned entry as old, one recent entry.
    await connection.execute("update outbox set processed_at = ? where job_id in (?, ?)", [eightDaysAgo, jobIds[0], jobIds[1]]);
    await connection.execute(
      "insert into outbox (kind, job_id, payload, created_at, available_at, attempts, last_error, abandoned_at) values ('notify', ?, '{}', ?, ?, 3, 'webhook deleted', ?)",
      [jobIds[2], eightDaysAgo, eightDaysAgo, eightDaysAgo],
    );

    expect(await harness.app.relay.purgeProcessed()).toBe(2);

    const rows = await connection.execute<{ job_id: string; kind: string }[]>(
      "select job_id, kind from outbox where job_id in (?, ?, ?) order by kind",
      jobIds,
    );
    expect(rows).toEqual([
      { job_id: jobIds[2], kind: "dispatch" },
      { job_id: jobIds[2], kind: "notify" },
    ]);
    expect(await harness.app.relay.purgeProcessed()).toBe(0);
  });
});

describe("dispatch during a Redis outage", () => {
  let redis: RedisProcess;
  let harness: TestApp;

  beforeAll(async () => {
    redis = new RedisProcess(await freePort());
    await redis.start();
    harness = await startTestApp("outage", { REDIS_URL: redis.url, OUTBOX_MAX_BACKOFF_MS: "500", DISPATCH_TIMEOUT_MS: "500" });
  });

  afterAll(async () => {
    await harness.close();
    await redis.stop();
  });

  test("accepts jobs as PENDING while Redis is down and dispatches each once when it returns", async () => {
    const client = jobsClient(harness.baseUrl);
    await redis.stop();

    const ids: string[] = [];
    for (let index = 0; index < 5; index += 1) {
      const started = performance.now();
      const response = await client.createJob(createJobRequest());
      expect(performance.now() - started).toBeLessThan(2000);
      expect(response.created).toBe(true);
      expect(response.dispatched).toBe(false);
      expect(response.job!.status).toBe(JobStatus.PENDING);
      ids.push(response.job!.id);
    }
    const health = await client.getHealth({});
    expect(health.status).toBe(HealthStatus.DEGRADED);
    expect(health.dependencies.find((dependency) => dependency.name === "queue")?.status).toBe(HealthStatus.DEGRADED);

    await redis.start();
    for (const id of ids) {
      const page = await waitFor(() => client.getJob({ id }), (current) => current.job!.status === JobStatus.QUEUED);
      expect(page.job!.status).toBe(JobStatus.QUEUED);
      expect(page.events.map((event) => event.type)).toEqual(["job.created", "job.queued"]);
    }

    const connection = new IORedis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(harness.config.defaultQueue, { connection, prefix: harness.config.queuePrefix });
    try {
      expect(await queue.getJobCountByTypes("waiting", "prioritized")).toBe(ids.length);
      for (const id of ids) expect((await queue.getJob(id))?.data.jobId).toBe(id);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  });

  test("does not queue a job that a coordinator started while Redis was down", async () => {
    const client = jobsClient(harness.baseUrl);
    await redis.stop();
    const { job } = await client.createJob(createJobRequest());
    expect(job!.status).toBe(JobStatus.PENDING);
    await client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING });
    await redis.start();

    const em = harness.app.orm.em.fork();
    const entry = await waitFor(
      () => em.fork().findOneOrFail(OutboxEntryEntity, { jobId: job!.id, kind: "dispatch" }),
      (row) => row.processedAt !== null,
    );
    expect(entry.processedAt).not.toBeNull();
    const connection = new IORedis(redis.url, { maxRetriesPerRequest: null });
    const queue = new Queue(harness.config.defaultQueue, { connection, prefix: harness.config.queuePrefix });
    try {
      expect(await queue.getJob(job!.id)).toBeUndefined();
    } finally {
      await queue.close();
      connection.disconnect();
    }
    const page = await client.getJob({ id: job!.id });
    expect(page.events.map((event) => event.type)).toEqual(["job.created", "job.started"]);
  });
});

describe("closing the queue dispatcher", () => {
  const logger = createLogger("silent");

  function dispatcherFor(redisUrl: string): QueueDispatcher {
    return new QueueDispatcher({
      redisUrl,
      prefix: uniqueName("close"),
      defaultQueue: "coordinator-jobs",
      commandTimeoutMs: 1000,
      retentionSeconds: 60,
      logger,
    });
  }

  test("closes cleanly at any moment while the connection is being set up", async () => {
    // Each delay stops the set-up at a different step: connecting, the ready check, BullMQ's version check.
    const dispatchers: QueueDispatcher[] = [];
    for (const delayMs of [0, 1, 2, 3, 5, 8, 13, 21, 34]) {
      const dispatcher = dispatcherFor(TEST_REDIS_URL);
      dispatchers.push(dispatcher);
      await new Promise((resolve) => setTimeout(resolve, delayMs));
      await dispatcher.close();
    }
    // Jest fails the test for an 'error' event without a listener, which would come after the connections ended.
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(dispatchers.map((dispatcher) => dispatcher.connection.status)).toEqual(dispatchers.map(() => "end"));
  });

  test("closes within two seconds while Redis cannot be reached", async () => {
    const dispatcher = dispatcherFor(`redis://127.0.0.1:${await freePort()}`);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const started = performance.now();
    await dispatcher.close();
    expect(performance.now() - started).toBeLessThan(2000);
    expect(dispatcher.connected).toBe(false);
  });
});
