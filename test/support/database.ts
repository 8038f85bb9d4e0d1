/** Database and timing helpers shared by the integration tests. */
import { Client } from "pg";
import type { App } from "../../src/app";
import { TEST_DATABASE_URL } from "./test-app";

/** Returns the row counts of jobs, events and outbox entries as one string, to compare before and after a call. */
export async function rowCounts(app: App): Promise<string> {
  const [row] = await app.orm.em.getConnection().execute<Record<string, string>[]>(
    "select (select count(*) from jobs) as jobs, (select count(*) from job_events) as events, (select count(*) from outbox) as outbox",
  );
  return JSON.stringify(row);
}

/** Holds a row lock on a job from another connection, so calls that change it wait, until `release`. */
export async function lockJobRow(schema: string, jobId: string): Promise<{ release(): Promise<void> }> {
  const client = new Client({ connectionString: TEST_DATABASE_URL });
  await client.connect();
  await client.query("begin");
  await client.query(`select 1 from "${schema}".jobs where id = $1 for update`, [jobId]);
  return {
    release: async () => {
      await client.query("rollback");
      await client.end();
    },
  };
}

/** Reads until `done` accepts the value or `timeoutMs` passes, and returns the last value read. */
export async function waitFor<T>(read: () => Promise<T> | T, done: (value: T) => boolean, timeoutMs = 20_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await read();
    if (done(value) || Date.now() > deadline) return value;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}
