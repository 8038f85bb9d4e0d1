/**
 * Plain SQL on the ORM's own connection pool, for the job service's reads and changes, which need
 * none of the unit of work. MikroORM still owns the pool, the entities and the migrations.
 * Statements use pg's `$n` bind parameters. Their errors are converted to MikroORM's exception
 * classes, so callers and src/rpc/errors.ts treat them like ORM errors (a duplicate key is a
 * UniqueConstraintViolationException, a lost connection a DriverException).
 */
import type { EntityManager } from "@mikro-orm/postgresql";
import { type ClientBase, type QueryResultRow, types } from "pg";
import type { Orm } from "./database";

export interface SqlClient {
  /** Runs one statement and returns its rows. */
  query<Row extends QueryResultRow = QueryResultRow>(text: string, values?: unknown[]): Promise<Row[]>;
}

interface PooledConnection extends ClientBase {
  /** Set by knex when the connection failed, so knex discards the connection instead of reusing it. */
  __knex__disposed?: unknown;
}

/**
 * pg's default type parsers. The ORM's connections return timestamps as strings for its own
 * hydration. These statements get Date objects, as pg gives them by default.
 */
const DEFAULT_TYPES = { getTypeParser: types.getTypeParser };

/**
 * Lends `work` one pooled connection. Each statement commits on its own unless `work` opens a
 * transaction, as sqlTransaction does.
 */
export async function withSqlConnection<T>(orm: Orm, work: (client: SqlClient, connection: PooledConnection) => Promise<T>): Promise<T> {
  const em = orm.em as EntityManager;
  const knexClient = em.getConnection().getKnex().client;
  const convert = (error: unknown) => em.getDriver().convertException(error as Error);

  let connection: PooledConnection;
  try {
    connection = (await knexClient.acquireConnection()) as PooledConnection;
  } catch (error) {
    throw convert(error);
  }
  const client: SqlClient = {
    async query<Row extends QueryResultRow>(text: string, values: unknown[] = []) {
      try {
        const result = await connection.query<Row>({ text, values, types: DEFAULT_TYPES });
        return result.rows;
      } catch (error) {
        throw convert(error);
      }
    },
  };
  try {
    return await work(client, connection);
  } finally {
    await knexClient.releaseConnection(connection);
  }
}

/** Runs `work` in one transaction on a pooled connection, and commits unless it throws. */
export async function sqlTransaction<T>(orm: Orm, work: (client: SqlClient) => Promise<T>): Promise<T> {
  return withSqlConnection(orm, async (client, connection) => {
    try {
      await client.query("begin");
      const result = await work(client);
      await client.query("commit");
      return result;
    } catch (error) {
      await connection.query("rollback").catch((rollbackError: unknown) => {
        // The connection is in an unknown state, so knex must not hand it out again.
        connection.__knex__disposed = rollbackError;
      });
      throw error;
    }
  });
}
