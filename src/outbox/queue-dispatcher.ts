/**
 * BullMQ producer side: one shared Redis connection, one Queue object per queue name. Commands
 * fail at once while Redis is down (no offline queue), and a command that hangs is cut off after
 * `commandTimeoutMs`, so callers never wait longer than that. ioredis keeps reconnecting in the
 * background.
 */
import { Queue } from "bullmq";
import IORedis from "ioredis";
import type { JsonObject } from "../domain/inputs";
import type { JobEntity } from "../entities";
import type { Logger } from "../logger";
import { withTimeout } from "../timeout";

export interface QueueDispatcherOptions {
  redisUrl: string;
  prefix: string;
  defaultQueue: string;
  commandTimeoutMs: number;
  /** How long finished BullMQ jobs are kept, so a repeated add with the same jobId is skipped. */
  retentionSeconds: number;
  logger: Logger;
}

/** The data a runner receives on the BullMQ job. */
export interface DispatchedJobData {
  jobId: string;
  type: string;
  requestId: string;
  source: JsonObject;
  payload: JsonObject;
}

/** How long close() waits for queues that are still connecting to give up. */
const CLOSE_WAIT_MS = 1000;

/** BullMQ job states reported by health. */
export const QUEUE_STATES = ["waiting", "active", "delayed", "prioritized", "completed", "failed", "paused", "waiting-children"] as const;

export class QueueDispatcher {
  readonly connection: IORedis;
  private readonly queues = new Map<string, Queue>();
  private lastErrorLoggedAt = 0;
  private closing = false;

  constructor(private readonly options: QueueDispatcherOptions) {
    this.connection = new IORedis(options.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      connectTimeout: 5000,
      lazyConnect: false,
      retryStrategy: (attempt) => Math.min(attempt * 200, 2000),
    });
    // Without a listener an 'error' event would crash the process; ioredis reconnects by itself.
    this.connection.on("error", (error) => this.logConnectionError(error));
    this.queueFor(options.defaultQueue);
  }

  get connected(): boolean {
    return this.connection.status === "ready";
  }

  /**
   * Waits until the Redis connection is ready or `timeoutMs` has passed, and returns whether it is
   * ready. The connection keeps trying after a timeout.
   */
  async waitForConnection(timeoutMs: number): Promise<boolean> {
    if (this.connected) return true;
    await new Promise<void>((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.connection.off("ready", done);
        resolve();
      };
      const timer = setTimeout(done, timeoutMs);
      this.connection.once("ready", done);
    });
    return this.connected;
  }

  /** Names of the queues this process has dispatched to, the default queue first. */
  get queueNames(): string[] {
    return [...this.queues.keys()];
  }

  /**
   * Adds the job to its queue with the job's id as BullMQ jobId, so a repeated add finds the
   * existing BullMQ job instead of making a second one.
   */
  async dispatch(job: JobEntity): Promise<void> {
    const data: DispatchedJobData = {
      jobId: job.id,
      type: job.type,
      requestId: job.requestId,
      source: job.source as unknown as JsonObject,
      payload: job.payload,
    };
    const add = this.queueFor(job.queue).add(job.type, data, {
      jobId: job.id,
      priority: job.priority || undefined,
      removeOnComplete: { age: this.options.retentionSeconds },
      removeOnFail: { age: this.options.retentionSeconds },
    });
    await withTimeout(add, this.options.commandTimeoutMs, `adding job ${job.id} to queue ${job.queue}`);
  }

  /** Counts jobs per BullMQ state for every known queue. */
  async counts(): Promise<Record<string, Record<string, number>>> {
    const entries = await Promise.all(
      this.queueNames.map(async (name) => [name, await this.queueFor(name).getJobCounts(...QUEUE_STATES)] as const),
    );
    return Object.fromEntries(entries);
  }

  async close(): Promise<void> {
    this.closing = true;
    const queues = [...this.queues.values()];
    // The connection goes first, so that a queue still waiting for Redis to be ready stops waiting.
    // Closing a queue earlier removes its error listeners, and its failed wait would then be an
    // unhandled 'error' event that ends the process (BullMQ 5.81 with a shared connection). While
    // Redis is down the wait never ends, hence the bound.
    this.connection.disconnect();
    const settled = Promise.allSettled(queues.map((queue) => queue.waitUntilReady()));
    await withTimeout(settled, CLOSE_WAIT_MS, "waiting for the queues to stop connecting").catch(() => undefined);
    await Promise.allSettled(queues.map((queue) => queue.close()));
  }

  private queueFor(name: string): Queue {
    let queue = this.queues.get(name);
    if (!queue) {
      queue = new Queue(name, { connection: this.connection, prefix: this.options.prefix });
      queue.on("error", (error) => this.logConnectionError(error));
      this.queues.set(name, queue);
    }
    return queue;
  }

  /** Logs a Redis connection error at most once every 30 seconds while the outage lasts. */
  private logConnectionError(error: Error): void {
    if (this.closing) return;
    const now = Date.now();
    if (now - this.lastErrorLoggedAt < 30_000) return;
    this.lastErrorLoggedAt = now;
    this.options.logger.warn({ err: error }, "redis connection error; reconnecting");
  }
}
