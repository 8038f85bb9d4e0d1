import { EntitySchema } from "@mikro-orm/core";
import type { JsonObject } from "../domain/inputs";

/** A side effect to perform after commit: dispatch a job to BullMQ or notify Discord. */
export type OutboxKind = "dispatch" | "notify";

export class OutboxEntryEntity {
  id!: string;
  kind!: OutboxKind;
  jobId!: string;
  payload!: JsonObject;
  createdAt!: Date;
  /** Earliest time of the next attempt; moved forward by backoff after a failure. */
  availableAt!: Date;
  /** A relay holds the entry until this time; after it, another relay may take it over. */
  lockedUntil: Date | null = null;
  attempts = 0;
  lastError: string | null = null;
  processedAt: Date | null = null;
  /** Set when the entry was given up for good, with lastError saying why. */
  abandonedAt: Date | null = null;
}

export const OutboxEntrySchema = new EntitySchema<OutboxEntryEntity>({
  class: OutboxEntryEntity,
  tableName: "outbox",
  properties: {
    id: { type: "bigint", primary: true, autoincrement: true },
    kind: { type: "string", length: 16 },
    jobId: { type: "uuid", fieldName: "job_id" },
    payload: { type: "json" },
    createdAt: { type: "Date", columnType: "timestamptz(3)" },
    availableAt: { type: "Date", columnType: "timestamptz(3)" },
    lockedUntil: { type: "Date", columnType: "timestamptz(3)", nullable: true },
    attempts: { type: "integer" },
    lastError: { type: "text", nullable: true },
    processedAt: { type: "Date", columnType: "timestamptz(3)", nullable: true },
    abandonedAt: { type: "Date", columnType: "timestamptz(3)", nullable: true },
  },
});
