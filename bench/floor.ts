/**
 * The floor of CreateJob: the SQL statements and the BullMQ add that one CreateJob performs, run
 * straight through node-postgres and BullMQ from the load process, with no RPC, ORM or service
 * code in between. It writes the same rows to the same tables, made by the service's own
 * migration, and adds the same BullMQ job.
 *
 * Two variants:
 * - `writes` runs only the statements that change data. The first transaction inserts the outbox
 *   entry, the job.created event and the job. Then comes the BullMQ add. The second transaction
 *   marks the outbox entry processed, appends job.queued and moves the job to QUEUED.
 * - `all` also runs the reads CreateJob makes (the request_id lookup, the outbox claim, the job
 *   read before the add, the row lock, and the read for the response), in the same order.
 *
 * The statement texts follow the SQL the service sent, as MikroORM 6 built it with the values
 * inlined and as src/outbox/outbox-relay.ts writes it by hand. Here they use bind parameters.
 *
 * The service's outbox relay polls the same table while the floor runs. The `writes` variant has no
 * claim statement, so it writes the claim's lease with the insert and the relay leaves the entry
 * alone. The `all` variant claims as the service does. When the relay claimed the entry first,
 * it stops there as CreateJob does and leaves the dispatch to the relay.
 */
import { createHash, randomUUID } from "node:crypto";
import { Queue } from "bullmq";
import IORedis from "ioredis";
import pg from "pg";
import type { CreateJobBody } from "./requests";

export type FloorVariant = "writes" | "all";

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

const SELECT_BY_REQUEST_ID = `select * from jobs where request_id = $1 limit 1`;
const SELECT_BY_ID = `select * from jobs where id = $1 limit 1`;
const LOCK_BY_ID = `select * from jobs where id = $1 limit 1 for update`;

const INSERT_OUTBOX = `insert into outbox (kind, job_id, payload, created_at, available_at, locked_until, attempts, last_error, processed_at, abandoned_at)
  values ('dispatch', $1, $2, $3, $3, $4, 0, null, null, null) returning id`;

const INSERT_EVENT = `insert into job_events (id, job_id, sequence, type, actor, time, payload) values ($1, $2, $3, $4, $5, $6, $7)`;

const INSERT_JOB = `insert into jobs (id, request_id, request_hash, type, queue, priority, status, progress_percent, progress_message,
    source, payload, result, summary, error, gates, version, last_event_sequence, created_at, queued_at, started_at, completed_at, updated_at)
  values ($1, $2, $3, $4, $5, 0, 'PENDING', 0, '', $6, $7, null, '', '', '[]', 1, 1, $8, null, null, null, $8)`;

const CLAIM_ONE = `update outbox set locked_until = now() + make_interval(secs => $1::double precision / 1000), attempts = attempts + 1
  where id in (
    select id from outbox
    where id = $2 and processed_at is null and abandoned_at is null
      and (locked_until is null or locked_until < now())
    for update skip locked)
  returning id, kind, job_id, payload, attempts`;

const MARK_QUEUED = `update jobs set status = 'QUEUED', version = 2, last_event_sequence = 2, queued_at = $2, updated_at = $2 where id = $1`;

const MARK_PROCESSED = `update outbox set processed_at = now(), locked_until = null, last_error = null where id = $1`;

const ACTOR = "bench";
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

  /**
   * Creates and dispatches one job as CreateJob does. The `variant` chooses whether the reads run too.
   * Returns false when the service's relay claimed the outbox entry first and so dispatches the job.
   */
  async createJob(body: CreateJobBody, variant: FloorVariant): Promise<boolean> {
    const all = variant === "all";
    if (all) await this.pool.query(SELECT_BY_REQUEST_ID, [body.requestId]);

    const id = randomUUID();
    const queue = this.options.queueName;
    const createdAt = new Date();
    const source = { ...body.source, pullRequestNumber: 0 };
    const requestHash = createHash("sha256").update(body.requestId).digest("hex");
    const outboxId = await this.transaction(async (client) => {
      const lockedUntil = all ? null : new Date(createdAt.getTime() + OUTBOX_LEASE_MS);
      const outbox = await client.query<{ id: string }>(INSERT_OUTBOX, [id, { queue, priority: 0 }, createdAt, lockedUntil]);
      await client.query(INSERT_EVENT, [
        randomUUID(),
        id,
        1,
        "job.created",
        ACTOR,
        createdAt,
        { queue, type: body.type, requestId: body.requestId },
      ]);
      await client.query(INSERT_JOB, [id, body.requestId, requestHash, body.type, queue, source, body.payload, createdAt]);
      return outbox.rows[0].id;
    });

    if (all) {
      const claimed = await this.pool.query(CLAIM_ONE, [OUTBOX_LEASE_MS, outboxId]);
      if (claimed.rowCount === 0) {
        await this.pool.query(SELECT_BY_ID, [id]);
        return false;
      }
      await this.pool.query(SELECT_BY_ID, [id]);
    }
    await this.queue.add(
      body.type,
      { jobId: id, type: body.type, requestId: body.requestId, source, payload: body.payload },
      { jobId: id, removeOnComplete: { age: this.options.retentionSeconds }, removeOnFail: { age: this.options.retentionSeconds } },
    );

    const queuedAt = new Date();
    await this.transaction(async (client) => {
      if (all) await client.query(LOCK_BY_ID, [id]);
      await client.query(MARK_PROCESSED, [outboxId]);
      await client.query(INSERT_EVENT, [randomUUID(), id, 2, "job.queued", "system", queuedAt, { from: "PENDING", to: "QUEUED", queue }]);
      await client.query(MARK_QUEUED, [id, queuedAt]);
    });
    if (all) await this.pool.query(SELECT_BY_ID, [id]);
    return true;
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
