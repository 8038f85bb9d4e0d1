import { Migration } from "@mikro-orm/migrations";

/** Jobs, their events and steps, and the outbox of side effects still to perform. */
export class Migration20261204000000 extends Migration {
  override async up(): Promise<void> {
    this.addSql(`create table "jobs" (
      "id" uuid not null primary key,
      "request_id" varchar(200) not null constraint "jobs_request_id_unique" unique,
      "request_hash" varchar(64) not null,
      "type" varchar(100) not null,
      "queue" varchar(100) not null,
      "priority" int not null,
      "status" varchar(16) not null,
      "progress_percent" smallint not null default 0,
      "progress_message" text not null default '',
      "source" jsonb not null,
      "payload" jsonb not null,
      "result" jsonb null,
      "summary" text not null default '',
      "error" text not null default '',
      "gates" jsonb not null,
      "version" int not null default 1,
      "last_event_sequence" int not null default 0,
      "created_at" timestamptz(3) not null,
      "queued_at" timestamptz(3) null,
      "started_at" timestamptz(3) null,
      "completed_at" timestamptz(3) null,
      "updated_at" timestamptz(3) not null);`);
    this.addSql(`create index "jobs_status_index" on "jobs" ("status");`);

    this.addSql(`create table "job_events" (
      "id" uuid not null primary key,
      "job_id" uuid not null references "jobs" ("id") on delete cascade deferrable initially deferred,
      "sequence" int not null,
      "type" varchar(50) not null,
      "actor" varchar(100) not null,
      "time" timestamptz(3) not null,
      "payload" jsonb not null,
      constraint "job_events_job_sequence_unique" unique ("job_id", "sequence"));`);

    this.addSql(`create table "job_steps" (
      "id" uuid not null primary key,
      "job_id" uuid not null references "jobs" ("id") on delete cascade deferrable initially deferred,
      "ordinal" int not null,
      "name" varchar(100) not null,
      "phase" varchar(100) not null,
      "status" varchar(16) not null,
      "started_at" timestamptz(3) not null,
      "completed_at" timestamptz(3) null,
      "output" text not null default '',
      constraint "job_steps_job_ordinal_unique" unique ("job_id", "ordinal"));`);

    this.addSql(`create table "outbox" (
      "id" bigserial primary key,
      "kind" varchar(16) not null,
      "job_id" uuid not null references "jobs" ("id") on delete cascade deferrable initially deferred,
      "payload" jsonb not null,
      "created_at" timestamptz(3) not null,
      "available_at" timestamptz(3) not null,
      "locked_until" timestamptz(3) null,
      "attempts" int not null default 0,
      "last_error" text null,
      "processed_at" timestamptz(3) null,
      "abandoned_at" timestamptz(3) null);`);
    // The relay and the health probe read only open entries; this index stays as small as the backlog.
    this.addSql(`create index "outbox_open_index" on "outbox" ("available_at", "id")
      where "processed_at" is null and "abandoned_at" is null;`);
    this.addSql(`create index "outbox_abandoned_index" on "outbox" ("id") where "abandoned_at" is not null;`);
  }

  override async down(): Promise<void> {
    this.addSql(`drop table if exists "outbox";`);
    this.addSql(`drop table if exists "job_steps";`);
    this.addSql(`drop table if exists "job_events";`);
    this.addSql(`drop table if exists "jobs";`);
  }
}
