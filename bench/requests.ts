/**
 * The requests the load sends, shaped like what a coordinator sends for a forge issue webhook.
 * Every transport and the floor use the same values, so they store rows of the same size.
 */

/** Fields of CreateJobRequest in protobuf JSON form (camelCase names), which REST and Connect send as is. */
export interface CreateJobBody {
  requestId: string;
  type: string;
  source: {
    forge: string;
    repository: string;
    issueNumber: number;
    url: string;
    event: string;
    action: string;
    deliveryId: string;
  };
  payload: Record<string, unknown>;
}

export interface StepBody {
  name: string;
  phase: string;
}

const ISSUE_BODY =
  "The widget renders twice when the page loads with a cached session. Steps: open the dashboard, " +
  "reload, and watch the sidebar. Expected one widget; got two, and the second ignores the theme. " +
  "Please fix the render path and add a regression test.";

/** Builds a CreateJob request whose request_id is unique to the run, the caller and the sequence number. */
export function createJobBody(requestId: string, issueNumber: number): CreateJobBody {
  return {
    requestId,
    type: "code-task",
    source: {
      forge: "gitea",
      repository: "octo/widgets",
      issueNumber,
      url: `https://git.example.com/octo/widgets/issues/${issueNumber}`,
      event: "issues",
      action: "opened",
      deliveryId: requestId,
    },
    payload: { title: "Fix the double widget render", body: ISSUE_BODY, labels: ["agent", "bug"], assignee: "coder-bot" },
  };
}

/** The three progress reports of a lifecycle, each opening a new step. */
export const LIFECYCLE_PROGRESS: ReadonlyArray<{ percent: number; message: string; step: StepBody }> = [
  { percent: 20, message: "reading the issue and the code", step: { name: "plan", phase: "plan" } },
  { percent: 60, message: "editing src/widget.ts", step: { name: "implement", phase: "implement" } },
  { percent: 90, message: "running typecheck, lint and tests", step: { name: "verify", phase: "verify" } },
];

export const COMPLETE_RESULT = { pullRequest: 42, branch: "agent/fix-double-render", filesChanged: 3 };
export const COMPLETE_SUMMARY = "Opened pull request #42: render the widget once and add a regression test.";
