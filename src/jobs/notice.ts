import type { JobEntity } from "../entities";
import type { JobNotice } from "../herald/notice";

/** Snapshots what the Herald needs of a job, so the message shows the job as it was at the change. */
export function noticeFromJob(job: JobEntity): JobNotice {
  const source = job.source;
  return {
    jobId: job.id,
    type: job.type,
    status: job.status,
    forge: source.forge || undefined,
    repository: source.repository || undefined,
    issueNumber: source.issueNumber || undefined,
    pullRequestNumber: source.pullRequestNumber || undefined,
    url: source.url || undefined,
    summary: job.summary || undefined,
    error: job.error || undefined,
    gates: job.gates.map((gate) => ({ name: gate.name, passed: gate.passed, message: gate.message || undefined })),
    createdAt: job.createdAt.toISOString(),
    startedAt: job.startedAt?.toISOString(),
    completedAt: job.completedAt?.toISOString(),
  };
}
