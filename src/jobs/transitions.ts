/**
 * What each mutation does to a job. Each `plan*` function either returns UNCHANGED (the request
 * repeats a change the job already made, or is stale) or a function that applies the change
 * through a JobChange. Refused requests throw a JobError before anything is written.
 */
import { alreadyFinished, invalidTransition, jobNotRunning } from "../domain/errors";
import type { CompleteJobInput, FailJobInput, JsonObject, UpdateProgressInput } from "../domain/inputs";
import { type JobStatus, canMove, eventTypeFor } from "../domain/job-status";
import type { JobEntity } from "../entities";
import { sameJson } from "./canonical-json";
import type { JobChange } from "./job-change";

export const UNCHANGED = Symbol("unchanged");
export type Plan = typeof UNCHANGED | ((change: JobChange) => Promise<void>);

/** Sets the status with its timestamp, closes the open step on a terminal status, and records the event. */
async function enterStatus(change: JobChange, to: JobStatus, payload: JsonObject): Promise<void> {
  const job = change.job;
  const from = job.status;
  job.status = to;
  if (to === "QUEUED") job.queuedAt = change.now;
  if (to === "RUNNING") job.startedAt = change.now;
  if (to === "COMPLETED") {
    job.progressPercent = 100;
    await change.closeOpenStep("COMPLETED");
  }
  if (to === "FAILED") await change.closeOpenStep("FAILED");
  if (to === "CANCELLED") await change.closeOpenStep("CANCELLED");
  if (to === "COMPLETED" || to === "FAILED" || to === "CANCELLED") job.completedAt = change.now;
  change.addEvent(eventTypeFor(to), { from, to, ...payload });
}

/** True when the job has already been in `status`, so a move there is a late repeat. */
function hasReached(job: JobEntity, status: JobStatus): boolean {
  if (job.status === status) return true;
  if (status === "QUEUED") return job.queuedAt !== null;
  if (status === "RUNNING") return job.startedAt !== null;
  return false;
}

export function planStatus(job: JobEntity, to: JobStatus, message: string, details: JsonObject = {}): Plan {
  if (hasReached(job, to)) return UNCHANGED;
  if (!canMove(job.status, to)) throw invalidTransition(job.id, job.status, to);
  return async (change) => {
    if (to === "FAILED") change.job.error = message || "failed without a message";
    await enterStatus(change, to, message ? { ...details, message } : details);
  };
}

export function planComplete(job: JobEntity, input: CompleteJobInput): Plan {
  if (job.status === "COMPLETED") {
    if (sameJson(job.result ?? {}, input.result) && job.summary === input.summary) return UNCHANGED;
    throw alreadyFinished(job.id, job.status, "result or summary");
  }
  if (!canMove(job.status, "COMPLETED")) throw invalidTransition(job.id, job.status, "COMPLETED");
  return async (change) => {
    change.job.result = input.result;
    change.job.summary = input.summary;
    await enterStatus(change, "COMPLETED", input.summary ? { summary: input.summary } : {});
  };
}

export function planFail(job: JobEntity, input: FailJobInput): Plan {
  if (job.status === "FAILED") {
    if (job.error === input.error && sameJson(job.gates, input.gates)) return UNCHANGED;
    throw alreadyFinished(job.id, job.status, "error or gate results");
  }
  if (!canMove(job.status, "FAILED")) throw invalidTransition(job.id, job.status, "FAILED");
  return async (change) => {
    change.job.error = input.error;
    change.job.gates = input.gates;
    const failedGates = input.gates.filter((gate) => !gate.passed).map((gate) => gate.name);
    await enterStatus(change, "FAILED", { error: input.error, failedGates });
  };
}

export async function planProgress(job: JobEntity, input: UpdateProgressInput, openStep: () => Promise<{ name: string } | null>): Promise<Plan> {
  if (job.status !== "RUNNING") throw jobNotRunning(job.id, job.status);
  if (input.percent < job.progressPercent) return UNCHANGED;
  const current = await openStep();
  const newStep = input.step !== undefined && current?.name !== input.step.name;
  if (input.percent === job.progressPercent && input.message === job.progressMessage && !newStep) return UNCHANGED;
  return async (change) => {
    if (newStep && input.step) {
      await change.closeOpenStep("COMPLETED");
      await change.startStep(input.step.name, input.step.phase, input.message);
    } else {
      const step = await change.openStep();
      if (step) step.output = input.message;
    }
    change.job.progressPercent = input.percent;
    change.job.progressMessage = input.message;
    const payload: JsonObject = { percent: input.percent, message: input.message };
    if (input.step) payload.step = input.step.name;
    change.addEvent("job.progress", payload);
  };
}
