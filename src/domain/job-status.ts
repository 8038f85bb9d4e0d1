/** Job statuses and the one state machine every change goes through. */

export const JOB_STATUSES = ["PENDING", "QUEUED", "RUNNING", "COMPLETED", "FAILED", "CANCELLED"] as const;

export type JobStatus = (typeof JOB_STATUSES)[number];

export const TERMINAL_STATUSES: ReadonlySet<JobStatus> = new Set(["COMPLETED", "FAILED", "CANCELLED"]);

const MOVES: Record<JobStatus, readonly JobStatus[]> = {
  PENDING: ["QUEUED", "RUNNING", "FAILED", "CANCELLED"],
  QUEUED: ["RUNNING", "FAILED", "CANCELLED"],
  RUNNING: ["COMPLETED", "FAILED", "CANCELLED"],
  COMPLETED: [],
  FAILED: [],
  CANCELLED: [],
};

export function isTerminal(status: JobStatus): boolean {
  return TERMINAL_STATUSES.has(status);
}

export function canMove(from: JobStatus, to: JobStatus): boolean {
  return MOVES[from].includes(to);
}

/** The event type recorded when a job enters a status. */
export function eventTypeFor(status: JobStatus): string {
  const types: Record<JobStatus, string> = {
    PENDING: "job.created",
    QUEUED: "job.queued",
    RUNNING: "job.started",
    COMPLETED: "job.completed",
    FAILED: "job.failed",
    CANCELLED: "job.cancelled",
  };
  return types[status];
}
