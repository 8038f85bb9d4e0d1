/** Operations of each scenario, and the set-up of the jobs that the GetJob scenarios read. */
import { performance } from "node:perf_hooks";
import type { CreatedJob, JobClient } from "./clients";
import type { CreateJobFloor } from "./floor";
import type { CallTimer } from "./measure";
import type { ScenarioName } from "./options";
import { COMPLETE_RESULT, COMPLETE_SUMMARY, type CreateJobBody, LIFECYCLE_PROGRESS, type StepBody, createJobBody } from "./requests";

/** Events a GetJob returns when the request leaves page_size at 0 (LIMITS.defaultPageSize of the service). */
export const DEFAULT_PAGE_SIZE = 100;

/** Counters an operation updates besides latency, reported in RunResult.details. */
export interface OperationCounters {
  /** CreateJob responses, in the warm-up and the window. */
  created: number;
  /** CreateJob responses with dispatched=false, whose job was stored but not yet put on its queue. */
  undispatched: number;
  /**
   * The part of `undispatched` that came back sooner than the service's dispatch timeout, so the
   * dispatch attempt failed instead of timing out.
   */
  undispatchedBeforeTimeout: number;
}

/** Returns the number of events of the job a get-N scenario reads, or undefined for other scenarios. */
export function historySize(scenario: ScenarioName): number | undefined {
  const match = /^get-(\d+)$/.exec(scenario);
  return match ? Number(match[1]) : undefined;
}

/** Makes request_ids unique per run, scenario, transport, client and call. */
export class RequestIds {
  private readonly next = new Map<number, number>();

  constructor(private readonly prefix: string) {}

  take(client: number): string {
    const sequence = (this.next.get(client) ?? 0) + 1;
    this.next.set(client, sequence);
    return `${this.prefix}-${client}-${sequence}`;
  }
}

export function newCounters(): OperationCounters {
  return { created: 0, undispatched: 0, undispatchedBeforeTimeout: 0 };
}

/** Calls CreateJob and counts a response with dispatched=false, and whether it came before the dispatch timeout. */
async function createAndCount(
  client: JobClient,
  body: CreateJobBody,
  timer: CallTimer,
  counters: OperationCounters,
  dispatchTimeoutMs: number,
): Promise<CreatedJob> {
  const started = performance.now();
  const job = await timer.time("CreateJob", () => client.createJob(body));
  counters.created += 1;
  if (!job.dispatched) {
    counters.undispatched += 1;
    if (performance.now() - started < dispatchTimeoutMs) counters.undispatchedBeforeTimeout += 1;
  }
  return job;
}

export function createOperation(client: JobClient, ids: RequestIds, counters: OperationCounters, dispatchTimeoutMs: number) {
  return async (timer: CallTimer, clientIndex: number): Promise<void> => {
    await createAndCount(client, createJobBody(ids.take(clientIndex), clientIndex + 1), timer, counters, dispatchTimeoutMs);
  };
}

/** Runs one whole job: create, RUNNING, three progress reports that each open a step, complete, and a read. */
export function lifecycleOperation(client: JobClient, ids: RequestIds, counters: OperationCounters, dispatchTimeoutMs: number) {
  return async (timer: CallTimer, clientIndex: number): Promise<void> => {
    const body = createJobBody(ids.take(clientIndex), clientIndex + 1);
    const job = await createAndCount(client, body, timer, counters, dispatchTimeoutMs);
    await timer.time("UpdateJobStatus", () => client.startJob(job.id));
    for (const report of LIFECYCLE_PROGRESS) {
      await timer.time("UpdateJobProgress", () => client.reportProgress(job.id, report.percent, report.message, report.step));
    }
    await timer.time("CompleteJob", () => client.completeJob(job.id, COMPLETE_RESULT, COMPLETE_SUMMARY));
    await timer.time("GetJob", () => client.getJob(job.id));
  };
}

/** Reads the first page of one job's events and checks that the page has the expected size. */
export function getJobOperation(client: JobClient, jobId: string, expectedEvents: number) {
  return async (timer: CallTimer): Promise<void> => {
    const page = await timer.time("GetJob", () => client.getJob(jobId));
    if (page.events !== expectedEvents) {
      throw new Error(`GetJob of job ${jobId} returned ${page.events} events; expected ${expectedEvents}`);
    }
  };
}

export function floorOperation(floor: CreateJobFloor, ids: RequestIds) {
  return async (timer: CallTimer, clientIndex: number): Promise<void> => {
    await timer.time("CreateJob statements", () => floor.createJob(createJobBody(ids.take(clientIndex), clientIndex + 1)));
  };
}

const HISTORY_STEPS: StepBody[] = [
  { name: "plan", phase: "plan" },
  { name: "implement", phase: "implement" },
  { name: "verify", phase: "verify" },
];

export interface PreparedJob {
  id: string;
  events: number;
  steps: number;
}

/**
 * Creates a running job with exactly `events` events (at least 3): job.created, job.queued and the
 * move to RUNNING, then progress reports. The reports open up to three steps, at the start and at
 * one and two thirds of the history, because each step change adds step events of its own.
 */
export async function prepareJobWithHistory(client: JobClient, requestId: string, events: number): Promise<PreparedJob> {
  const created = await client.createJob(createJobBody(requestId, events));
  if (!created.dispatched) throw new Error(`set-up job ${created.id} was not dispatched; check that Redis is reachable`);
  await client.startJob(created.id);

  let count = 3;
  let nextStep = 0;
  let stepOpen = false;
  while (count < events) {
    const percent = Math.min(99, Math.floor((count * 100) / events));
    const message = `progress after event ${count}`;
    // A step change appends step.completed (when a step is open), step.started and job.progress.
    const stepEvents = stepOpen ? 3 : 2;
    const stepDue = nextStep < HISTORY_STEPS.length && count >= (nextStep * events) / HISTORY_STEPS.length;
    if (stepDue && count + stepEvents <= events) {
      await client.reportProgress(created.id, percent, message, HISTORY_STEPS[nextStep]);
      count += stepEvents;
      nextStep += 1;
      stepOpen = true;
    } else {
      await client.reportProgress(created.id, percent, message);
      count += 1;
    }
  }

  const whole = await client.getJob(created.id, Math.min(events, 1000));
  if (events <= 1000 && whole.events !== events) {
    throw new Error(`set-up job ${created.id} has ${whole.events} events; expected ${events}`);
  }
  return { id: created.id, events, steps: whole.steps };
}
