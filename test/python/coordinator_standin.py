"""A coordinator stand-in that turns Gitea webhook deliveries into coordinator-jobs jobs.

For each delivery it verifies the X-Gitea-Signature, decides whether the delivery is
actionable, creates a job with the delivery id as request_id, plays an agent's run of the job
(plan, implement, verify) with progress reports, and completes or fails it.

Actionable deliveries:

- issues opened, assigned, or label_updated with at least one label after the change become a
  "code-task" job: someone asked for a change to the code.
- pull_request opened becomes a "review-task" job.

Every other delivery is ignored. That covers closed issues (nothing left to do), label_cleared,
other pull request actions, push (CI checks pushes, not an agent), and issue_comment, because
the agent's own progress comments would otherwise start new jobs.

Command line, with the API key in COORDINATOR_JOBS_API_KEY and gen/python on PYTHONPATH:

    python3 coordinator_standin.py --address 127.0.0.1:8080 [--fail NAME ...] [--cases DIR]
"""

import argparse
import dataclasses
import hashlib
import hmac
import json
import os
import pathlib
import sys

import grpc
from google.protobuf import json_format, struct_pb2

from coordinator.v1 import coordinator_jobs_service_pb2 as service_pb2
from coordinator.v1 import coordinator_jobs_service_pb2_grpc
from coordinator.v1 import job_pb2

WEBHOOK_SECRET = b"gitea-fixture-secret"
CASES_DIR_VARIABLE = "GITEA_CASES_DIR"
# The repository root is two folders above this file, and the deliveries are in ../shared/cases/gitea from there.
DEFAULT_CASES_DIR = pathlib.Path(__file__).resolve().parents[2].parent / "shared" / "cases" / "gitea"

FORGE = "gitea"
CODE_TASK = "code-task"
REVIEW_TASK = "review-task"
QUEUE = "agent-tasks"
# BullMQ priority: 1 is the highest. A review blocks a person, so it goes before a code change.
PRIORITY = {REVIEW_TASK: 5, CODE_TASK: 10}

ACTIONABLE_ISSUE_ACTIONS = frozenset({"opened", "assigned", "label_updated"})
ACTIONABLE_PULL_REQUEST_ACTIONS = frozenset({"opened"})

# Page size for reading a job back. A scripted run records 14 events, so one page contains them all.
READ_PAGE_SIZE = 100


class InvalidSignatureError(Exception):
    """Raised for a delivery whose X-Gitea-Signature does not match its body."""


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One webhook delivery: the exact body bytes and the HTTP headers, keyed in lower case."""

    name: str
    body: bytes
    headers: dict[str, str]

    @property
    def event(self) -> str:
        return self.headers.get("x-gitea-event", "")

    @property
    def event_type(self) -> str:
        return self.headers.get("x-gitea-event-type", "")

    @property
    def delivery_id(self) -> str:
        return self.headers.get("x-gitea-delivery", "")

    @property
    def signature(self) -> str:
        return self.headers.get("x-gitea-signature", "")

    def payload(self) -> dict:
        return json.loads(self.body)


def parse_headers(text: str) -> dict[str, str]:
    """Parse "Name: value" lines into a dict keyed by the lower-case header name."""
    headers = {}
    for line in text.splitlines():
        if line.strip() == "":
            continue
        name, separator, value = line.partition(":")
        if separator == "":
            raise ValueError(f"invalid header line {line!r}: expected 'Name: value'")
        headers[name.strip().lower()] = value.strip()
    return headers


def cases_dir() -> pathlib.Path:
    """Return the folder of recorded deliveries: $GITEA_CASES_DIR, or ../shared/cases/gitea."""
    configured = os.environ.get(CASES_DIR_VARIABLE, "")
    return pathlib.Path(configured) if configured else DEFAULT_CASES_DIR


def load_deliveries(folder: pathlib.Path) -> list[Delivery]:
    """Load every NAME.json with its NAME.headers from the folder, sorted by name."""
    bodies = sorted(folder.glob("*.json"))
    if not bodies:
        raise FileNotFoundError(f"no *.json deliveries in {folder}: set {CASES_DIR_VARIABLE} to the folder of Gitea deliveries")
    deliveries = []
    for body_path in bodies:
        headers_path = body_path.with_suffix(".headers")
        if not headers_path.exists():
            raise FileNotFoundError(f"delivery {body_path.name} has no headers file {headers_path.name}")
        deliveries.append(
            Delivery(
                name=body_path.stem,
                body=body_path.read_bytes(),
                headers=parse_headers(headers_path.read_text(encoding="utf-8")),
            )
        )
    return deliveries


def verify_signature(delivery: Delivery, secret: bytes = WEBHOOK_SECRET) -> None:
    """Raise InvalidSignatureError unless X-Gitea-Signature is the HMAC-SHA256 hex of the body."""
    if delivery.signature == "":
        raise InvalidSignatureError(f"delivery {delivery.name} has no X-Gitea-Signature header")
    expected = hmac.new(secret, delivery.body, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, delivery.signature.lower()):
        raise InvalidSignatureError(f"delivery {delivery.name}: X-Gitea-Signature does not match the body")


@dataclasses.dataclass(frozen=True)
class Decision:
    """The outcome of the actionable rule for one delivery: the job type (None when ignored) and the reason."""

    job_type: str | None
    reason: str

    @property
    def actionable(self) -> bool:
        return self.job_type is not None


def decide(delivery: Delivery) -> Decision:
    """Apply the actionable rule of the module docstring to one delivery."""
    payload = delivery.payload()
    action = payload.get("action", "")
    event = delivery.event

    if event == "issues":
        if action not in ACTIONABLE_ISSUE_ACTIONS:
            return Decision(None, f"issues action {action!r} needs no agent")
        if action == "label_updated" and not (payload.get("issue") or {}).get("labels"):
            return Decision(None, "the issue has no labels after the change")
        return Decision(CODE_TASK, f"issue {action}")
    if event == "pull_request":
        if action not in ACTIONABLE_PULL_REQUEST_ACTIONS:
            return Decision(None, f"pull_request action {action!r} needs no agent")
        return Decision(REVIEW_TASK, f"pull request {action}")
    if event == "issue_comment":
        return Decision(None, "comments are ignored so that the agent's own comments start no jobs")
    return Decision(None, f"event {event!r} needs no agent")


def _names(items: list | None, key: str) -> list[str]:
    """Return item[key] of each dict in a Gitea list, which is null instead of [] in some payloads."""
    return [item[key] for item in items or []]


def build_source(delivery: Delivery) -> job_pb2.JobSource:
    """Build the JobSource of a delivery from its headers and payload.

    The URL is the issue's or pull request's html_url. Some payloads have none (one recorded
    from a 2019 Gitea server has no issue.html_url), so the fallback is the repository's
    html_url plus /issues/N or /pulls/N, Gitea's web paths for issues and pull requests.
    """
    payload = delivery.payload()
    repository = payload.get("repository") or {}
    issue = payload.get("issue") or {}
    pull_request = payload.get("pull_request") or {}

    issue_number = 0
    pull_request_number = 0
    url = ""
    if pull_request:
        pull_request_number = pull_request.get("number", 0)
        url = pull_request.get("html_url") or ""
    elif issue:
        # A comment on a pull request arrives as issue_comment with is_pull set.
        if payload.get("is_pull"):
            pull_request_number = issue.get("number", 0)
        else:
            issue_number = issue.get("number", 0)
        url = issue.get("html_url") or ""

    repository_url = repository.get("html_url") or ""
    if url == "" and repository_url != "":
        if pull_request_number:
            url = f"{repository_url}/pulls/{pull_request_number}"
        elif issue_number:
            url = f"{repository_url}/issues/{issue_number}"
        else:
            url = repository_url

    return job_pb2.JobSource(
        forge=FORGE,
        repository=repository.get("full_name", ""),
        issue_number=issue_number,
        pull_request_number=pull_request_number,
        url=url,
        event=delivery.event,
        action=payload.get("action", ""),
        delivery_id=delivery.delivery_id,
    )


def build_job_payload(delivery: Delivery) -> dict:
    """Select what the runner needs from a delivery: the subject, the people and the repository."""
    payload = delivery.payload()
    repository = payload.get("repository") or {}
    subject = payload.get("pull_request") or payload.get("issue") or {}
    job_payload = {
        "event_type": delivery.event_type,
        "title": subject.get("title", ""),
        "body": subject.get("body", ""),
        "labels": _names(subject.get("labels"), "name"),
        "assignees": _names(subject.get("assignees"), "login"),
        "sender": (payload.get("sender") or {}).get("login", ""),
        "repository": {
            "full_name": repository.get("full_name", ""),
            "clone_url": repository.get("clone_url", ""),
            "default_branch": repository.get("default_branch", ""),
        },
    }
    if "pull_request" in payload:
        head = subject.get("head") or {}
        base = subject.get("base") or {}
        job_payload["head"] = {
            "repository": (head.get("repo") or {}).get("full_name", ""),
            "ref": head.get("ref", ""),
            "sha": head.get("sha", ""),
        }
        job_payload["base"] = {"ref": base.get("ref", ""), "sha": base.get("sha", "")}
    return job_payload


def build_create_request(delivery: Delivery, decision: Decision) -> service_pb2.CreateJobRequest:
    """Build the CreateJob request of an actionable delivery, with the delivery id as request_id."""
    if not decision.actionable:
        raise ValueError(f"delivery {delivery.name} is not actionable: {decision.reason}")
    payload = struct_pb2.Struct()
    payload.update(build_job_payload(delivery))
    return service_pb2.CreateJobRequest(
        request_id=delivery.delivery_id,
        type=decision.job_type,
        queue=QUEUE,
        priority=PRIORITY[decision.job_type],
        source=build_source(delivery),
        payload=payload,
    )


@dataclasses.dataclass(frozen=True)
class ProgressReport:
    step: str
    phase: str
    percent: int
    message: str


# The scripted agent run. The two "implement" reports share a step, so the second one only
# updates the step's output.
RUN_SCRIPT = (
    ProgressReport("plan", "plan", 10, "reading the request and the code it touches"),
    ProgressReport("implement", "implement", 40, "editing the code"),
    ProgressReport("implement", "implement", 70, "adding tests for the change"),
    ProgressReport("verify", "verify", 90, "running typecheck, lint and tests"),
)

FAILURE_ERROR = "quality gate failed: tests"


def failing_gates() -> list[job_pb2.GateResult]:
    """Return the gate results of a run whose tests fail while typecheck and lint pass."""
    typecheck = job_pb2.GateResult(name="typecheck", passed=True, message="tsc --noEmit: 0 errors")
    typecheck.details.update({"errors": 0})
    lint = job_pb2.GateResult(name="lint", passed=True, message="0 problems")
    lint.details.update({"problems": 0})
    tests = job_pb2.GateResult(name="tests", passed=False, message="2 of 48 tests failed")
    tests.details.update(
        {
            "failed": ["jobs.test.ts > rejects a stale version", "jobs.test.ts > pages events"],
            "passed": 46,
            "total": 48,
        }
    )
    return [typecheck, lint, tests]


def work_branch(source: job_pb2.JobSource) -> str:
    """Return the branch the scripted agent names in its result."""
    if source.pull_request_number:
        return f"agent/pull-{source.pull_request_number}"
    return f"agent/issue-{source.issue_number}"


def completion_summary(source: job_pb2.JobSource) -> str:
    subject = f"pull request #{source.pull_request_number}" if source.pull_request_number else f"issue #{source.issue_number}"
    return f"Handled {subject} of {source.repository}: all quality gates passed"


@dataclasses.dataclass
class JobReadback:
    """A job as GetJob returns it, with the events of every page joined."""

    job: job_pb2.Job
    steps: list[job_pb2.JobStep]
    events: list[job_pb2.JobEvent]


@dataclasses.dataclass
class HandledDelivery:
    """The record of one handled delivery. The job fields are None for an ignored delivery."""

    delivery: Delivery
    decision: Decision
    create_response: service_pb2.CreateJobResponse | None = None
    readback: JobReadback | None = None


class CoordinatorStandIn:
    """A coordinator that drives jobs in coordinator-jobs from webhook deliveries."""

    def __init__(self, stub, api_key: str, secret: bytes = WEBHOOK_SECRET):
        self._stub = stub
        self._metadata = (("x-api-key", api_key),)
        self._secret = secret

    def handle(self, delivery: Delivery, fail_verification: bool = False) -> HandledDelivery:
        """Verify, decide, create the job and, when this call created it, run it to its end.

        A delivery that Gitea sends again finds its job through the request_id, so it is read
        back without running it a second time. With fail_verification the run ends with
        FailJob and failing_gates() in place of CompleteJob. Raises InvalidSignatureError
        before any call to the service.
        """
        verify_signature(delivery, self._secret)
        decision = decide(delivery)
        handled = HandledDelivery(delivery=delivery, decision=decision)
        if not decision.actionable:
            return handled

        request = build_create_request(delivery, decision)
        handled.create_response = self._stub.CreateJob(request, metadata=self._metadata)
        if handled.create_response.created:
            self.run_job(handled.create_response.job, fail_verification)
        handled.readback = self.read_job(handled.create_response.job.id)
        return handled

    def run_job(self, job: job_pb2.Job, fail_verification: bool) -> job_pb2.Job:
        """Play the scripted agent run. Each call sends the version that the previous call returned."""
        response = self._stub.UpdateJobStatus(
            service_pb2.UpdateJobStatusRequest(
                id=job.id,
                status=job_pb2.JOB_STATUS_RUNNING,
                message="runner picked up the job",
                expected_version=job.version,
            ),
            metadata=self._metadata,
        )
        job = response.job

        for report in RUN_SCRIPT:
            response = self._stub.UpdateJobProgress(
                service_pb2.UpdateJobProgressRequest(
                    id=job.id,
                    percent=report.percent,
                    message=report.message,
                    step=service_pb2.StepReport(name=report.step, phase=report.phase),
                    expected_version=job.version,
                ),
                metadata=self._metadata,
            )
            job = response.job

        if fail_verification:
            response = self._stub.FailJob(
                service_pb2.FailJobRequest(id=job.id, error=FAILURE_ERROR, gates=failing_gates(), expected_version=job.version),
                metadata=self._metadata,
            )
            return response.job

        result = struct_pb2.Struct()
        result.update({"branch": work_branch(job.source), "gates": {"typecheck": "passed", "lint": "passed", "tests": "passed"}})
        response = self._stub.CompleteJob(
            service_pb2.CompleteJobRequest(
                id=job.id,
                result=result,
                summary=completion_summary(job.source),
                expected_version=job.version,
            ),
            metadata=self._metadata,
        )
        return response.job

    def read_job(self, job_id: str) -> JobReadback:
        """Read a job with GetJob, following next_page_token until the last page."""
        events = []
        page_token = ""
        while True:
            page = self._stub.GetJob(
                service_pb2.GetJobRequest(id=job_id, page_size=READ_PAGE_SIZE, page_token=page_token),
                metadata=self._metadata,
            )
            events.extend(page.events)
            page_token = page.next_page_token
            if page_token == "":
                return JobReadback(job=page.job, steps=list(page.steps), events=events)


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description="Replay Gitea webhook deliveries into coordinator-jobs.")
    parser.add_argument("--address", required=True, help="host:port of the coordinator-jobs service")
    parser.add_argument("--cases", type=pathlib.Path, default=None, help=f"folder of deliveries (default: ${CASES_DIR_VARIABLE} or {DEFAULT_CASES_DIR})")
    parser.add_argument("--fail", action="append", default=[], metavar="NAME", help="end the run of delivery NAME with failing quality gates; repeatable")
    arguments = parser.parse_args(argv)

    api_key = os.environ.get("COORDINATOR_JOBS_API_KEY", "")
    if api_key == "":
        parser.error("missing environment variable COORDINATOR_JOBS_API_KEY: set it to an API key of the service")

    deliveries = load_deliveries(arguments.cases or cases_dir())
    with grpc.insecure_channel(arguments.address) as channel:
        standin = CoordinatorStandIn(coordinator_jobs_service_pb2_grpc.CoordinatorJobsServiceStub(channel), api_key)
        for delivery in deliveries:
            handled = standin.handle(delivery, fail_verification=delivery.name in arguments.fail)
            if handled.readback is None:
                print(f"{delivery.name}: ignored ({handled.decision.reason})")
                continue
            job = handled.readback.job
            print(
                f"{delivery.name}: job {job.id} {job_pb2.JobStatus.Name(job.status)} "
                f"at {job.progress_percent}% with {len(handled.readback.events)} events"
            )
            print(json.dumps(json_format.MessageToDict(job.source), sort_keys=True))
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
