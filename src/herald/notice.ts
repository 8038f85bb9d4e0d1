/** Result of one quality gate that a job ran, such as a test suite or a linter. */
export interface GateResult {
  name: string;
  passed: boolean;
  message?: string;
}

/**
 * Snapshot of a finished job that the Herald posts to Discord. The outbox stores it as JSON, so it
 * contains only plain values, and every timestamp is an ISO 8601 string.
 */
export interface JobNotice {
  jobId: string;
  type: string;
  /** COMPLETED and FAILED get their own colour and headline, and any other status is shown by name. */
  status: "COMPLETED" | "FAILED" | (string & {});
  /** Code host of the repository, such as "github". */
  forge?: string;
  /** Repository as "owner/name". */
  repository?: string;
  issueNumber?: number;
  pullRequestNumber?: number;
  /** Web page of the issue or pull request. */
  url?: string;
  /** Markdown text that the job reported as its result. */
  summary?: string;
  error?: string;
  gates?: GateResult[];
  createdAt: string;
  startedAt?: string;
  completedAt?: string;
}
