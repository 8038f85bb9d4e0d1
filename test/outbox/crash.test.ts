import { Queue } from "bullmq";
import IORedis from "ioredis";
import { Client } from "pg";
import { JobStatus } from "../../gen/es/coordinator/v1/job_pb";
import { jobsClient } from "../support/clients";
import { lockJobRow } from "../support/database";
import { createJobRequest } from "../support/requests";
import { ServiceProcess } from "../support/service-process";
import { TEST_API_KEY, TEST_DATABASE_URL, TEST_REDIS_URL, deleteRedisKeys, dropSchema, uniqueName } from "../support/test-app";

const name = uniqueName("crash");
const env = {
  DATABASE_URL: TEST_DATABASE_URL,
  DATABASE_SCHEMA: name,
  REDIS_URL: TEST_REDIS_URL,
  QUEUE_PREFIX: name,
  COORDINATOR_API_KEYS: `${TEST_API_KEY.name}:${TEST_API_KEY.secret}`,
  OUTBOX_POLL_INTERVAL_MS: "200",
  OUTBOX_LEASE_MS: "2000",
};
let database: Client;

beforeAll(async () => {
  database = new Client({ connectionString: TEST_DATABASE_URL });
  await database.connect();
});

afterAll(async () => {
  await database.end();
  await dropSchema(name);
  await deleteRedisKeys(TEST_REDIS_URL, name);
});

/** Sends CreateJob calls from `clients` loops until stopped; returns the ids of the acknowledged jobs. */
function burst(baseUrl: string, clients: number): { stop(): Promise<string[]> } {
  const acknowledged: string[] = [];
  let running = true;
  const client = jobsClient(baseUrl, "connect-binary-http2");
  const loops = Array.from({ length: clients }, async () => {
    while (running) {
      try {
        const response = await client.createJob(createJobRequest(), { timeoutMs: 5000 });
        acknowledged.push(response.job!.id);
      } catch {
        return;
      }
    }
  });
  return {
    stop: async () => {
      running = false;
      await Promise.all(loops);
      return acknowledged;
    },
  };
}

test("loses no acknowledged job and duplicates no dispatch when killed in a burst of creates", async () => {
  const first = new ServiceProcess(env);
  await first.start();
  const load = burst(first.baseUrl, 16);
  await new Promise((resolve) => setTimeout(resolve, 1500));
  await first.stop("SIGKILL");
  const acknowledged = await load.stop();
  expect(acknowledged.length).toBeGreaterThan(10);

  const second = new ServiceProcess(env);
  await second.start();
  try {
    const schema = `"${name}"`;
    const deadline = Date.now() + 30_000;
    let pending = -1;
    while (Date.now() < deadline) {
      const result = await database.query(`select count(*)::int as n from ${schema}.jobs where status = 'PENDING'`);
      pending = result.rows[0].n;
      if (pending === 0) break;
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    expect(pending).toBe(0);

    const stored = await database.query(`select id from ${schema}.jobs`);
    const storedIds = new Set(stored.rows.map((row: { id: string }) => row.id));
    for (const id of acknowledged) expect(storedIds.has(id)).toBe(true);

    const queuedEvents = await database.query(
      `select job_id, count(*)::int as n from ${schema}.job_events where type = 'job.queued' group by job_id having count(*) <> 1`,
    );
    expect(queuedEvents.rows).toEqual([]);
    const openEntries = await database.query(`select count(*)::int as n from ${schema}.outbox where processed_at is null`);
    expect(openEntries.rows[0].n).toBe(0);

    const connection = new IORedis(TEST_REDIS_URL, { maxRetriesPerRequest: null });
    const queue = new Queue("coordinator-jobs", { connection, prefix: name });
    try {
      const counts = await queue.getJobCountByTypes("waiting", "prioritized", "active", "delayed", "completed", "failed");
      expect(counts).toBe(storedIds.size);
      const missing = [];
      for (const id of storedIds) if (!(await queue.getJob(id))) missing.push(id);
      expect(missing).toEqual([]);
    } finally {
      await queue.close();
      connection.disconnect();
    }
  } finally {
    expect(await second.stop("SIGTERM")).toBe(0);
  }
  expect(second.logLines.some((line) => line.includes('"msg":"stopped"'))).toBe(true);
}, 90_000);

test("finishes a call in flight on SIGTERM while refusing new connections", async () => {
  const service = new ServiceProcess({ ...env, SHUTDOWN_GRACE_MS: "10000" });
  await service.start();
  const client = jobsClient(service.baseUrl, "connect-json-http1");
  const { job } = await client.createJob(createJobRequest());

  const lock = await lockJobRow(name, job!.id);
  const inFlight = client.updateJobStatus({ id: job!.id, status: JobStatus.RUNNING });
  await new Promise((resolve) => setTimeout(resolve, 300));

  const exited = service.stop("SIGTERM");
  await new Promise((resolve) => setTimeout(resolve, 300));
  await expect(fetch(`${service.baseUrl}/coordinator/health`)).rejects.toThrow();

  await lock.release();
  const moved = await inFlight;
  expect(moved.job!.status).toBe(JobStatus.RUNNING);
  expect(await exited).toBe(0);
}, 60_000);
