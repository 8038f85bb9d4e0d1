/**
 * The machine and servers a run measured, and the run's own data: a PostgreSQL schema (and the
 * database, when the run created it) and the Redis keys under its queue prefix.
 */
import os from "node:os";
import IORedis from "ioredis";
import pg from "pg";

export interface MachineInfo {
  cores: number;
  cpuModel: string;
  memoryBytes: number;
  os: string;
  node: string;
  postgres: string;
  redis: string;
}

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Connection URL of the server's maintenance database `postgres`, for creating and dropping databases. */
function maintenanceUrl(databaseUrl: string): string {
  const url = new URL(databaseUrl);
  url.pathname = "/postgres";
  return url.toString();
}

function databaseName(databaseUrl: string): string {
  return decodeURIComponent(new URL(databaseUrl).pathname.slice(1));
}

async function withClient<T>(url: string, work: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    return await work(client);
  } finally {
    await client.end();
  }
}

async function withRedis<T>(url: string, work: (redis: IORedis) => Promise<T>): Promise<T> {
  const redis = new IORedis(url, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 5000 });
  await redis.connect();
  try {
    return await work(redis);
  } finally {
    redis.disconnect();
  }
}

export async function describeMachine(databaseUrl: string, redisUrl: string): Promise<MachineInfo> {
  const cpus = os.cpus();
  const postgres = await withClient(maintenanceUrl(databaseUrl), async (client) => {
    const result = await client.query<{ server_version: string }>("show server_version");
    return `PostgreSQL ${result.rows[0].server_version}`;
  });
  const redis = await withRedis(redisUrl, async (connection) => {
    const info = await connection.info("server");
    const valkey = /^valkey_version:(\S+)/m.exec(info);
    if (valkey) return `Valkey ${valkey[1]}`;
    return `Redis ${/^redis_version:(\S+)/m.exec(info)?.[1] ?? "unknown"}`;
  });
  return {
    cores: cpus.length,
    cpuModel: cpus[0]?.model.trim() ?? "unknown",
    memoryBytes: os.totalmem(),
    os: `${os.type()} ${os.release()} ${os.arch()}`,
    node: process.version,
    postgres,
    redis,
  };
}

export async function databaseExists(databaseUrl: string): Promise<boolean> {
  return withClient(maintenanceUrl(databaseUrl), async (client) => {
    const result = await client.query("select 1 from pg_database where datname = $1", [databaseName(databaseUrl)]);
    return result.rowCount === 1;
  });
}

/** Counts the run's jobs per status, so a report shows whether every created job left PENDING. */
export async function countJobsByStatus(databaseUrl: string, schema: string): Promise<Record<string, number>> {
  return withClient(databaseUrl, async (client) => {
    const result = await client.query<{ status: string; count: string }>(
      `select status, count(*) as count from ${quoteIdentifier(schema)}.jobs group by status order by status`,
    );
    return Object.fromEntries(result.rows.map((row) => [row.status, Number(row.count)]));
  });
}

/**
 * Drops the run's schema, and the database too when `dropDatabase` is set (the run created it).
 * Returns the items it could not remove, for the report, and an empty list when all are gone.
 */
export async function removeRunData(options: {
  databaseUrl: string;
  schema: string;
  dropDatabase: boolean;
  redisUrl: string;
  queuePrefix: string;
}): Promise<string[]> {
  const left: string[] = [];
  try {
    await withClient(options.databaseUrl, (client) => client.query(`drop schema if exists ${quoteIdentifier(options.schema)} cascade`));
  } catch (error) {
    left.push(`schema ${options.schema}: ${String(error)}`);
  }
  if (options.dropDatabase) {
    const name = databaseName(options.databaseUrl);
    try {
      // Without FORCE, PostgreSQL refuses while another session (say, a second bench run) is connected.
      await withClient(maintenanceUrl(options.databaseUrl), (client) => client.query(`drop database if exists ${quoteIdentifier(name)}`));
    } catch (error) {
      left.push(`database ${name}: ${String(error)}`);
    }
  }
  try {
    await withRedis(options.redisUrl, async (redis) => {
      let cursor = "0";
      do {
        const [next, keys] = await redis.scan(cursor, "MATCH", `${options.queuePrefix}:*`, "COUNT", 1000);
        cursor = next;
        if (keys.length > 0) await redis.unlink(...keys);
      } while (cursor !== "0");
    });
  } catch (error) {
    left.push(`Redis keys ${options.queuePrefix}:*: ${String(error)}`);
  }
  return left;
}
