/**
 * Starts the whole service for a test file: its own PostgreSQL schema and BullMQ prefix on the
 * local servers, listening on 127.0.0.1 port 0. `close` stops it, drops the schema and deletes the
 * prefix's Redis keys.
 */
import { randomBytes } from "node:crypto";
import IORedis from "ioredis";
import { Client } from "pg";
import { type App, createApp } from "../../src/app";
import { type Config, loadConfig } from "../../src/config";
import { createLogger } from "../../src/logger";

export const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL ?? "postgresql://postgres@127.0.0.1:5432/coordinator_jobs_test";
export const TEST_REDIS_URL = process.env.TEST_REDIS_URL ?? "redis://127.0.0.1:6379";
export const TEST_API_KEY = { name: "coordinator", secret: "test-secret-0123456789" };

export interface TestApp {
  app: App;
  config: Config;
  port: number;
  baseUrl: string;
  close(): Promise<void>;
}

/** Returns a name unique to this run, usable as a schema name and a queue prefix. */
export function uniqueName(label: string): string {
  return `t_${label}_${process.pid}_${randomBytes(3).toString("hex")}`;
}

export async function startTestApp(label: string, env: Record<string, string> = {}): Promise<TestApp> {
  const name = uniqueName(label);
  const config = loadConfig({
    DATABASE_URL: TEST_DATABASE_URL,
    DATABASE_SCHEMA: name,
    REDIS_URL: TEST_REDIS_URL,
    QUEUE_PREFIX: name,
    COORDINATOR_API_KEYS: `${TEST_API_KEY.name}:${TEST_API_KEY.secret}`,
    LOG_LEVEL: process.env.TEST_LOG_LEVEL ?? "silent",
    OUTBOX_POLL_INTERVAL_MS: "200",
    // Generous, so that a loaded machine does not turn an expected QUEUED response into PENDING.
    DISPATCH_TIMEOUT_MS: "10000",
    SHUTDOWN_GRACE_MS: "2000",
    ...env,
  });
  const app = await createApp(config, createLogger(config.logLevel));
  const port = await app.listen(0, "127.0.0.1");
  return {
    app,
    config,
    port,
    baseUrl: `http://127.0.0.1:${port}`,
    close: async () => {
      await app.close();
      await dropSchema(name);
      await deleteRedisKeys(TEST_REDIS_URL, name);
    },
  };
}

export async function dropSchema(schema: string): Promise<void> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  try {
    await client.query(`drop schema if exists "${schema}" cascade`);
  } finally {
    await client.end();
  }
}

export async function deleteRedisKeys(redisUrl: string, prefix: string): Promise<void> {
  const redis = new IORedis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1 });
  try {
    await redis.connect();
    let cursor = "0";
    do {
      const [next, keys] = await redis.scan(cursor, "MATCH", `${prefix}:*`, "COUNT", 500);
      if (keys.length > 0) await redis.del(...keys);
      cursor = next;
    } while (cursor !== "0");
  } finally {
    redis.disconnect();
  }
}
