/**
 * PostgreSQL through MikroORM: connection, creation of a missing database and schema, and
 * migrations. Tables live in `config.databaseSchema`, which is also the connection's
 * search_path, so hand-written SQL needs no schema prefix.
 */
import { Migrator } from "@mikro-orm/migrations";
import { MikroORM, defineConfig } from "@mikro-orm/postgresql";
import { Client } from "pg";
import type { Config } from "./config";
import { ENTITY_SCHEMAS } from "./entities";
import type { Logger } from "./logger";
import { Migration20261204000000 } from "./migrations/Migration20261204000000";

export type Orm = MikroORM;

/** Migrations in order; a new one is added to the end. */
const MIGRATIONS = [{ name: "Migration20261204000000", class: Migration20261204000000 }];

function quoteIdentifier(name: string): string {
  return `"${name.replace(/"/g, '""')}"`;
}

/** Creates the database named in the URL when the server does not have it yet. */
async function ensureDatabase(databaseUrl: string): Promise<void> {
  const url = new URL(databaseUrl);
  const name = decodeURIComponent(url.pathname.slice(1));
  if (name === "" || name === "postgres") return;
  url.pathname = "/postgres";
  const client = new Client({ connectionString: url.toString(), connectionTimeoutMillis: 5000 });
  await client.connect();
  try {
    const found = await client.query("select 1 from pg_database where datname = $1", [name]);
    if (found.rowCount === 0) {
      await client.query(`create database ${quoteIdentifier(name)}`).catch((error: { code?: string }) => {
        // 42P04: another process created it between the check and here.
        if (error.code !== "42P04") throw error;
      });
    }
  } finally {
    await client.end();
  }
}

export function createOrmConfig(config: Config, logger?: Logger) {
  const knexLog = (level: "warn" | "error") => (message: unknown) => logger?.[level]({ component: "database" }, String(message));
  return defineConfig({
    clientUrl: config.databaseUrl,
    schema: config.databaseSchema,
    entities: ENTITY_SCHEMAS,
    discovery: { warnWhenNoEntities: false },
    pool: { min: 0, max: config.databasePoolSize, acquireTimeoutMillis: 5000 },
    driverOptions: {
      // knex would print pool and connection errors with console.log; they go to the service log instead.
      log: { warn: knexLog("warn"), error: knexLog("error"), deprecate: knexLog("warn"), debug: () => undefined },
      connection: {
        options: `-c search_path=${quoteIdentifier(config.databaseSchema)}`,
        connectionTimeoutMillis: 5000,
        // A query that hangs (a lock, a stalled server) is cut off instead of holding a request.
        statement_timeout: 15_000,
        keepAlive: true,
      },
    },
    extensions: [Migrator],
    migrations: {
      migrationsList: MIGRATIONS,
      tableName: "mikro_orm_migrations",
      transactional: true,
      allOrNothing: true,
      snapshot: false,
    },
    allowGlobalContext: false,
    forceUtcTimezone: true,
    debug: false,
    logger: (message: string) => logger?.info({ component: "database" }, message.replace(/\u001b\[[0-9;]*m/g, "")),
  });
}

/** Connects, creating the database and schema if needed, and applies pending migrations. */
export async function openDatabase(config: Config, logger?: Logger): Promise<Orm> {
  await ensureDatabase(config.databaseUrl);
  const orm = await MikroORM.init(createOrmConfig(config, logger));
  await orm.em.getConnection().execute(`create schema if not exists ${quoteIdentifier(config.databaseSchema)}`);
  await orm.getMigrator().up();
  return orm;
}
