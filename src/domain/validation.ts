/**
 * Validation of every request field, in one place, before any write. Each check adds a field
 * violation; a request with any violation is rejected whole with INVALID_ARGUMENT.
 */
import { type FieldViolation, invalidArgument } from "./errors";
import type {
  CompleteJobInput,
  CreateJobInput,
  FailJobInput,
  GetJobInput,
  JsonValue,
  UpdateProgressInput,
  UpdateStatusInput,
} from "./inputs";
import { JOB_STATUSES } from "./job-status";
import { LIMITS } from "./limits";

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;
const JOB_TYPE = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
/** BullMQ uses ':' inside its keys, so queue names are kept to a safe alphabet. */
const QUEUE_NAME = /^[A-Za-z0-9][A-Za-z0-9._-]*$/;
const REPOSITORY = /^[^/\s]+\/[^/\s]+$/;
/** C0 controls other than tab, newline and carriage return. */
const CONTROL = /[\u0000-\u0008\u000b\u000c\u000e-\u001f\u007f]/;

class Checker {
  readonly violations: FieldViolation[] = [];

  add(field: string, description: string): void {
    this.violations.push({ field, description });
  }

  text(field: string, value: string, max: number, options: { required?: boolean; pattern?: RegExp; patternHint?: string } = {}): void {
    if (value === "") {
      if (options.required) this.add(field, "must not be empty");
      return;
    }
    if (value.length > max) {
      this.add(field, `must be at most ${max} characters, got ${value.length}`);
    } else if (CONTROL.test(value)) {
      this.add(field, "must not contain control characters");
    } else if (options.pattern && !options.pattern.test(value)) {
      this.add(field, options.patternHint ?? "has an invalid format");
    }
  }

  integer(field: string, value: number, min: number, max: number): void {
    if (!Number.isInteger(value) || value < min || value > max) {
      this.add(field, `must be a whole number from ${min} to ${max}, got ${value}`);
    }
  }

  uuid(field: string, value: string): void {
    if (value === "") this.add(field, "must not be empty");
    else if (!UUID.test(value)) this.add(field, `must be a UUID, got "${value.slice(0, 64)}"`);
  }

  json(field: string, value: JsonValue, maxLength: number): void {
    const depth = jsonDepth(value);
    if (depth > LIMITS.jsonDepth) {
      this.add(field, `must be nested at most ${LIMITS.jsonDepth} levels deep, got ${depth}`);
      return;
    }
    const problem = findUnstorableJson(value);
    if (problem) {
      this.add(field, problem);
      return;
    }
    const length = JSON.stringify(value).length;
    if (length > maxLength) this.add(field, `must be at most ${maxLength} characters as JSON, got ${length}`);
  }

  version(field: string, value: bigint | undefined): void {
    if (value !== undefined && value < 1n) this.add(field, `must be at least 1, got ${value}`);
  }

  throwIfAny(): void {
    if (this.violations.length > 0) throw invalidArgument(this.violations);
  }
}

/** Depth of a JSON value: 0 for a scalar, 1 for a flat object or array. */
export function jsonDepth(value: JsonValue): number {
  if (value === null || typeof value !== "object") return 0;
  const children = Array.isArray(value) ? value : Object.values(value);
  let deepest = 0;
  for (const child of children) deepest = Math.max(deepest, jsonDepth(child));
  return deepest + 1;
}

/**
 * Finds what JSON columns cannot store faithfully: NaN and Infinity (JSON has no such numbers, so
 * they would turn into null) and the NUL character, which PostgreSQL's jsonb rejects.
 */
function findUnstorableJson(value: JsonValue): string | undefined {
  if (typeof value === "number") return Number.isFinite(value) ? undefined : `must not contain the number ${value}`;
  if (typeof value === "string") return value.includes("\u0000") ? "must not contain the NUL character (\\u0000)" : undefined;
  if (value === null || typeof value !== "object") return undefined;
  const entries = Array.isArray(value) ? value.map((child) => ["", child] as const) : Object.entries(value);
  for (const [key, child] of entries) {
    if (key.includes("\u0000")) return "must not contain the NUL character (\\u0000)";
    const problem = findUnstorableJson(child);
    if (problem) return problem;
  }
  return undefined;
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === "https:" || url.protocol === "http:";
  } catch {
    return false;
  }
}

export function validateCreateJob(input: CreateJobInput): void {
  const check = new Checker();
  check.text("request_id", input.requestId, LIMITS.requestIdLength, { required: true });
  check.text("type", input.type, LIMITS.typeLength, {
    required: true,
    pattern: JOB_TYPE,
    patternHint: "must start with a letter or digit and contain only letters, digits, '.', '_' and '-'",
  });
  check.text("queue", input.queue, LIMITS.queueLength, {
    pattern: QUEUE_NAME,
    patternHint: "must start with a letter or digit and contain only letters, digits, '.', '_' and '-'",
  });
  check.integer("priority", input.priority, 0, LIMITS.maxPriority);
  const source = input.source;
  check.text("source.forge", source.forge, LIMITS.forgeLength);
  check.text("source.repository", source.repository, LIMITS.repositoryLength, {
    pattern: REPOSITORY,
    patternHint: `must be "owner/name", got "${source.repository.slice(0, 64)}"`,
  });
  check.integer("source.issue_number", source.issueNumber, 0, 2_147_483_647);
  check.integer("source.pull_request_number", source.pullRequestNumber, 0, 2_147_483_647);
  check.text("source.url", source.url, LIMITS.urlLength);
  if (source.url !== "" && source.url.length <= LIMITS.urlLength && !isHttpUrl(source.url)) {
    check.add("source.url", "must be an http or https URL");
  }
  check.text("source.event", source.event, LIMITS.eventLength);
  check.text("source.action", source.action, LIMITS.eventLength);
  check.text("source.delivery_id", source.deliveryId, LIMITS.deliveryIdLength);
  check.json("payload", input.payload, LIMITS.payloadJsonLength);
  check.throwIfAny();
}

export function validateUpdateStatus(input: UpdateStatusInput): void {
  const check = new Checker();
  check.uuid("id", input.id);
  if (typeof input.status === "number") {
    check.add("status", `must be a known JobStatus, got the unknown value ${input.status}`);
  } else if (input.status === "UNSPECIFIED") {
    // Named as in the contract, because clients send the protobuf enum names (JSON) or their numbers.
    const targets = JOB_STATUSES.filter((status) => status !== "PENDING").map((status) => `JOB_STATUS_${status}`);
    check.add("status", `must be set to the status to move to: one of ${targets.join(", ")}`);
  }
  check.text("message", input.message, LIMITS.messageLength);
  check.version("expected_version", input.expectedVersion);
  check.throwIfAny();
}

export function validateUpdateProgress(input: UpdateProgressInput): void {
  const check = new Checker();
  check.uuid("id", input.id);
  check.integer("percent", input.percent, 0, 100);
  check.text("message", input.message, LIMITS.messageLength);
  if (input.step) {
    check.text("step.name", input.step.name, LIMITS.stepNameLength, { required: true });
    check.text("step.phase", input.step.phase, LIMITS.phaseLength);
  }
  check.version("expected_version", input.expectedVersion);
  check.throwIfAny();
}

export function validateCompleteJob(input: CompleteJobInput): void {
  const check = new Checker();
  check.uuid("id", input.id);
  check.json("result", input.result, LIMITS.resultJsonLength);
  check.text("summary", input.summary, LIMITS.summaryLength);
  check.version("expected_version", input.expectedVersion);
  check.throwIfAny();
}

export function validateFailJob(input: FailJobInput): void {
  const check = new Checker();
  check.uuid("id", input.id);
  check.text("error", input.error, LIMITS.errorLength, { required: true });
  if (input.gates.length > LIMITS.gateCount) {
    check.add("gates", `must have at most ${LIMITS.gateCount} entries, got ${input.gates.length}`);
  } else {
    input.gates.forEach((gate, index) => {
      check.text(`gates[${index}].name`, gate.name, LIMITS.gateNameLength, { required: true });
      check.text(`gates[${index}].message`, gate.message, LIMITS.messageLength);
      check.json(`gates[${index}].details`, gate.details, LIMITS.gateDetailsJsonLength);
    });
  }
  check.version("expected_version", input.expectedVersion);
  check.throwIfAny();
}

export function validateGetJob(input: GetJobInput): void {
  const check = new Checker();
  check.uuid("id", input.id);
  check.integer("page_size", input.pageSize, 0, LIMITS.maxPageSize);
  check.text("page_token", input.pageToken, 200);
  check.throwIfAny();
}
