import { JobEventSchema } from "./job-event.entity";
import { JobStepSchema } from "./job-step.entity";
import { JobSchema } from "./job.entity";
import { OutboxEntrySchema } from "./outbox-entry.entity";

export { JobEntity } from "./job.entity";
export { JobEventEntity } from "./job-event.entity";
export { JobStepEntity, type StepStatus } from "./job-step.entity";
export { OutboxEntryEntity, type OutboxKind } from "./outbox-entry.entity";

export const ENTITY_SCHEMAS = [JobSchema, JobEventSchema, JobStepSchema, OutboxEntrySchema];
