import { randomUUID } from "node:crypto";
import { type MessageInitShape, create } from "@bufbuild/protobuf";
import { Code, ConnectError } from "@connectrpc/connect";
import { type CreateJobRequest, CreateJobRequestSchema } from "../../gen/es/coordinator/v1/coordinator_jobs_service_pb";
import { BadRequestSchema, ErrorInfoSchema } from "../../gen/es/google/rpc/error_details_pb";

/** Builds a valid CreateJob request with a fresh request_id; `overrides` replace its fields. */
export function createJobRequest(overrides: MessageInitShape<typeof CreateJobRequestSchema> = {}): CreateJobRequest {
  const defaults: MessageInitShape<typeof CreateJobRequestSchema> = {
    requestId: `delivery-${randomUUID()}`,
    type: "code-task",
    source: {
      forge: "gitea",
      repository: "octo/widgets",
      issueNumber: 7,
      url: "https://git.example.com/octo/widgets/issues/7",
      event: "issues",
      action: "opened",
    },
    payload: { title: "Fix the widget", labels: ["agent"] },
  };
  return create(CreateJobRequestSchema, { ...defaults, ...overrides } as MessageInitShape<typeof CreateJobRequestSchema>);
}

/** Awaits a call that must fail, and returns its ConnectError for assertions. */
export async function expectConnectError(call: Promise<unknown>): Promise<ConnectError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ConnectError) return error;
    throw error;
  }
  throw new Error("expected the call to fail, but it succeeded");
}

export interface ErrorSummary {
  code: string;
  reason?: string;
  metadata?: Record<string, string>;
  fields?: string[];
}

/** Extracts the parts of an error that tests compare: code name, ErrorInfo reason and metadata, BadRequest fields. */
export function summarizeError(error: ConnectError): ErrorSummary {
  const [info] = error.findDetails(ErrorInfoSchema);
  const [badRequest] = error.findDetails(BadRequestSchema);
  const summary: ErrorSummary = { code: Code[error.code] };
  if (info) {
    summary.reason = info.reason;
    summary.metadata = { ...info.metadata };
  }
  if (badRequest) summary.fields = badRequest.fieldViolations.map((violation) => violation.field);
  return summary;
}
