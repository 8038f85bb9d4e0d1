import { EntitySchema } from "@mikro-orm/core";
import type { JsonObject } from "../domain/inputs";

/** One audit event. Rows are only ever inserted. */
export class JobEventEntity {
  id!: string;
  jobId!: string;
  sequence!: number;
  type!: string;
  actor!: string;
  time!: Date;
  payload!: JsonObject;
}

export const JobEventSchema = new EntitySchema<JobEventEntity>({
  class: JobEventEntity,
  tableName: "job_events",
  uniques: [{ name: "job_events_job_sequence_unique", properties: ["jobId", "sequence"] }],
  properties: {
    id: { type: "uuid", primary: true },
    jobId: { type: "uuid", fieldName: "job_id" },
    sequence: { type: "integer" },
    type: { type: "string", length: 50 },
    actor: { type: "string", length: 100 },
    time: { type: "Date", columnType: "timestamptz(3)" },
    payload: { type: "json" },
  },
});
