/**
 * The floor of CreateJob: the SQL statements and the BullMQ add that one CreateJob performs, run
 * straight through node-postgres and BullMQ from the load process, with no RPC or service code in
 * between. The statement texts are the service's own (src/jobs/job-sql.ts), so the floor writes
 * the same rows to the same tables, made by the service's migration, and adds the same BullMQ job:
 *
 * 1. `begin`, INSERT_NEW_JOB (the job, its job.created event and its leased dispatch entry), `commit`;
 * 2. the BullMQ add, with the job id as BullMQ jobId;
 * 3. MARK_DISPATCHED (the job to QUEUED, its job.queued event, the entry processed), one statement.
 *
 * The dispatch entry is leased as the service leases it, so the service's outbox relay, which
 * polls the same table, leaves it alone.
 */
import { createHash, randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import IORedis from "ioredis";
import pg from "pg";
import { INSERT_NEW_JOB, MARK_DISPATCHED } from "../src/jobs/job-sql";
import type { CreateJobBody } from "./requests";

export interface FloorOptions {
  databaseUrl: string;
  databaseSchema: string;
  poolSize: number;
  redisUrl: string;
  queuePrefix: string;
  queueName: string;
  /** Age in seconds after which BullMQ removes finished jobs, as the service sets it. */
  retentionSeconds: number;
}

const ACTOR = "bench";
const SYSTEM_ACTOR = "system";
const OUTBOX_LEASE_MS = 60_000;

export class CreateJobFloor {
  private readonly pool: pg.Pool;
  private readonly redis: IORedis;
  private readonly queue: Queue;

  constructor(private readonly options: FloorOptions) {
    this.pool = new pg.Pool({
      connectionString: options.databaseUrl,
      max: options.poolSize,
      options: `-c search_path="${options.databaseSchema}"`,
    });
    // The same connection settings as the service's producer connection.
    this.redis = new IORedis(options.redisUrl, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false });
    // A failed command rejects and the runner counts it. The listener only keeps an 'error' event
    // from ending the process while ioredis reconnects.
    this.redis.on("error", () => undefined);
    this.queue = new Queue(options.queueName, { connection: this.redis, prefix: options.queuePrefix });
  }

  async ready(): Promise<void> {
    if (this.redis.status !== "ready") await new Promise((resolve) => this.redis.once("ready", resolve));
    await this.pool.query("select 1");
  }

  /** Creates and dispatches one job as CreateJob does. */
  async createJob(body: CreateJobBody): Promise<void> {
    const id = randomUUID();
    const queue = this.options.queueName;
    const createdAt = new Date();
    const source = { ...body.source, pullRequestNumber: 0 };
    const requestHash = createHash("sha256").update(body.requestId).digest("hex");
    const [entry] = await this.transaction(async (client) => {
      const result = await client.query<{ id: string }>(INSERT_NEW_JOB, [
        id,
        body.requestId,
        requestHash,
        body.type,
        queue,
        0,
        JSON.stringify(source),
        JSON.stringify(body.payload),
        createdAt,
        randomUUID(),
        ACTOR,
        JSON.stringify({ queue, type: body.type, requestId: body.requestId }),
        JSON.stringify({ queue, priority: 0 }),
        new Date(createdAt.getTime() + OUTBOX_LEASE_MS),
      ]);
      return result.rows;
    });

    await this.queue.add(
      body.type,
      { jobId: id, type: body.type, requestId: body.requestId, source, payload: body.payload },
      { jobId: id, removeOnComplete: { age: this.options.retentionSeconds }, removeOnFail: { age: this.options.retentionSeconds } },
    );

    const payload = JSON.stringify({ from: "PENDING", to: "QUEUED", queue });
    const queued = await this.pool.query(MARK_DISPATCHED, [id, new Date(), randomUUID(), SYSTEM_ACTOR, payload, entry.id]);
    if (queued.rowCount !== 1) throw new Error(`job ${id} was not PENDING when the floor marked it dispatched`);
  }

  async close(): Promise<void> {
    await this.queue.close();
    this.redis.disconnect();
    await this.pool.end();
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await this.pool.connect();
    try {
      await client.query("begin");
      const result = await work(client);
      await client.query("commit");
      return result;
    } catch (error) {
      await client.query("rollback").catch(() => undefined);
      throw error;
    } finally {
      client.release();
    }
  }
}
