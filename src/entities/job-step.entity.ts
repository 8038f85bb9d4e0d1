import { EntitySchema } from "@mikro-orm/core";

export type StepStatus = "RUNNING" | "COMPLETED" | "FAILED" | "CANCELLED";

/** A named stage of a job, opened and closed by progress reports and by the job's end. */
export class JobStepEntity {
  id!: string;
  jobId!: string;
  ordinal!: number;
  name!: string;
  phase!: string;
  status!: StepStatus;
  startedAt!: Date;
  completedAt: Date | null = null;
  output = "";
}

export const JobStepSchema = new EntitySchema<JobStepEntity>({
  class: JobStepEntity,
  tableName: "job_steps",
  uniques: [{ name: "job_steps_job_ordinal_unique", properties: ["jobId", "ordinal"] }],
  properties: {
    id: { type: "uuid", primary: true },
    jobId: { type: "uuid", fieldName: "job_id" },
    ordinal: { type: "integer" },
    name: { type: "string", length: 100 },
    phase: { type: "string", length: 100 },
    status: { type: "string", length: 16 },
    startedAt: { type: "Date", columnType: "timestamptz(3)" },
    completedAt: { type: "Date", columnType: "timestamptz(3)", nullable: true },
    output: { type: "text" },
  },
});
