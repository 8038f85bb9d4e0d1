"""The CoordinatorJobsService contract over grpcio: every RPC, its errors and their rich details.

Run with test/python/run.sh, which starts the service and sets the COORDINATOR_JOBS_* variables.
Each test creates its own jobs with fresh request ids, so the tests share one service.
"""

import unittest
import uuid

import grpc
from google.protobuf import json_format, struct_pb2

from coordinator.v1 import coordinator_jobs_service_pb2 as service_pb2
from coordinator.v1 import job_pb2

import service_support
from service_support import ACTOR, SYSTEM_ACTOR

ERROR_DOMAIN = "coordinator-jobs"
# The service's default for DEFAULT_QUEUE, which applies because run.sh does not set the variable.
DEFAULT_QUEUE = "coordinator-jobs"


def struct(values: dict) -> struct_pb2.Struct:
    message = struct_pb2.Struct()
    message.update(values)
    return message


def gate(name: str, passed: bool, message: str, details: dict) -> job_pb2.GateResult:
    return job_pb2.GateResult(name=name, passed=passed, message=message, details=struct(details))


class ContractTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.settings = service_support.read_settings()
        cls.channel, cls.stub = service_support.open_stub(cls.settings.address)
        cls.metadata = service_support.api_key_metadata(cls.settings.api_key)

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()

    # Helpers that build jobs in a known state.

    def create_request(self, **fields) -> service_pb2.CreateJobRequest:
        request = service_pb2.CreateJobRequest(
            request_id=f"contract-{uuid.uuid4()}",
            type="code-task",
            queue="contract-tests",
            priority=3,
            source=job_pb2.JobSource(
                forge="gitea",
                repository="example/example",
                issue_number=7,
                url="http://localhost:3000/example/example/issues/7",
                event="issues",
                action="opened",
                delivery_id="contract-delivery",
            ),
            payload=struct({"title": "Fix the flaky test", "labels": ["agent"]}),
        )
        for name, value in fields.items():
            if isinstance(value, (job_pb2.JobSource, struct_pb2.Struct)):
                getattr(request, name).CopyFrom(value)
            else:
                setattr(request, name, value)
        return request

    def create_job(self, **fields) -> job_pb2.Job:
        response = self.stub.CreateJob(self.create_request(**fields), metadata=self.metadata)
        self.assertTrue(response.created)
        self.assertEqual(response.job.status, job_pb2.JOB_STATUS_QUEUED, "Redis must be up so that CreateJob dispatches")
        return response.job

    def set_status(self, job_id: str, status: int, message: str = "", **fields) -> job_pb2.Job:
        request = service_pb2.UpdateJobStatusRequest(id=job_id, status=status, message=message, **fields)
        return self.stub.UpdateJobStatus(request, metadata=self.metadata).job

    def report(self, job_id: str, percent: int, message: str, step: tuple[str, str] | None = None, **fields) -> job_pb2.Job:
        request = service_pb2.UpdateJobProgressRequest(id=job_id, percent=percent, message=message, **fields)
        if step is not None:
            request.step.name, request.step.phase = step
        return self.stub.UpdateJobProgress(request, metadata=self.metadata).job

    def running_job(self) -> job_pb2.Job:
        return self.set_status(self.create_job().id, job_pb2.JOB_STATUS_RUNNING)

    def get(self, job_id: str, page_size: int = 0, page_token: str = "") -> service_pb2.GetJobResponse:
        request = service_pb2.GetJobRequest(id=job_id, page_size=page_size, page_token=page_token)
        return self.stub.GetJob(request, metadata=self.metadata)

    def event_types(self, job_id: str) -> list[str]:
        return [event.type for event in self.get(job_id).events]

    def assert_error(self, call, code: grpc.StatusCode, reason: str, metadata: dict | None = None) -> service_support.ErrorDetails:
        """Assert that call() fails with this code and an ErrorInfo with this reason and, if given, metadata."""
        with self.assertRaises(grpc.RpcError) as caught:
            call()
        error = caught.exception
        self.assertEqual(error.code(), code, error.details())
        details = service_support.read_error_details(error)
        self.assertEqual(details.status.code, code.value[0])
        self.assertEqual(details.status.message, error.details())
        self.assertIsNotNone(details.error_info, "the error has no google.rpc.ErrorInfo")
        self.assertEqual(details.error_info.domain, ERROR_DOMAIN)
        self.assertEqual(details.error_info.reason, reason)
        if metadata is not None:
            self.assertEqual(dict(details.error_info.metadata), metadata)
        return details

    def assert_invalid_fields(self, call, fields: list[str]) -> service_support.ErrorDetails:
        """Assert INVALID_ARGUMENT with one BadRequest violation per field, in this order."""
        details = self.assert_error(call, grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD", {"field": fields[0]})
        self.assertIsNotNone(details.bad_request, "the error has no google.rpc.BadRequest")
        self.assertEqual([violation.field for violation in details.bad_request.field_violations], fields)
        for violation in details.bad_request.field_violations:
            self.assertNotEqual(violation.description, "", violation.field)
        return details

    # GetHealth

    def test_health_needs_no_key(self):
        response = self.stub.GetHealth(service_pb2.GetHealthRequest(), timeout=10)
        self.assertEqual(response.status, service_pb2.HEALTH_STATUS_SERVING)
        self.assertEqual([dependency.name for dependency in response.dependencies], ["database", "queue", "herald", "outbox"])
        for dependency in response.dependencies:
            self.assertEqual(dependency.status, service_pb2.HEALTH_STATUS_SERVING, dependency.name)
        self.assertTrue(response.HasField("checked_at"))

    # CreateJob

    def test_create_job_returns_queued_job(self):
        request = self.create_request()
        response = self.stub.CreateJob(request, metadata=self.metadata)

        self.assertTrue(response.created)
        self.assertTrue(response.dispatched)
        job = response.job
        self.assertEqual(str(uuid.UUID(job.id)), job.id)
        self.assertEqual(job.request_id, request.request_id)
        self.assertEqual(job.type, "code-task")
        self.assertEqual(job.queue, "contract-tests")
        self.assertEqual(job.priority, 3)
        self.assertEqual(job.status, job_pb2.JOB_STATUS_QUEUED)
        self.assertEqual(job.progress_percent, 0)
        self.assertEqual(job.source, request.source)
        self.assertEqual(json_format.MessageToDict(job.payload), {"title": "Fix the flaky test", "labels": ["agent"]})
        self.assertEqual(job.version, 2)
        self.assertTrue(job.HasField("created_at"))
        self.assertTrue(job.HasField("queued_at"))
        self.assertFalse(job.HasField("started_at"))
        self.assertFalse(job.HasField("completed_at"))

        events = self.get(job.id).events
        self.assertEqual([(event.type, event.actor, event.sequence) for event in events], [("job.created", ACTOR, 1), ("job.queued", SYSTEM_ACTOR, 2)])

    def test_create_job_empty_queue_uses_default(self):
        job = self.create_job(queue="")
        self.assertEqual(job.queue, DEFAULT_QUEUE)

    def test_create_job_repeat_returns_same_job(self):
        request = self.create_request()
        first = self.stub.CreateJob(request, metadata=self.metadata)
        again = self.stub.CreateJob(request, metadata=self.metadata)

        self.assertFalse(again.created)
        self.assertTrue(again.dispatched)
        self.assertEqual(again.job, first.job)
        self.assertEqual(self.event_types(first.job.id), ["job.created", "job.queued"])

    def test_create_job_reused_request_id(self):
        request = self.create_request()
        job = self.stub.CreateJob(request, metadata=self.metadata).job
        changed = self.create_request(request_id=request.request_id, type="review-task")

        self.assert_error(
            lambda: self.stub.CreateJob(changed, metadata=self.metadata),
            grpc.StatusCode.ALREADY_EXISTS,
            "REQUEST_ID_REUSED",
            {"request_id": request.request_id, "id": job.id},
        )
        self.assertEqual(self.get(job.id).job.type, "code-task")

    def test_create_job_invalid_field(self):
        cases = [
            ({"request_id": ""}, "request_id"),
            ({"type": ""}, "type"),
            ({"type": "code task"}, "type"),
            ({"queue": "a:b"}, "queue"),
            ({"priority": -1}, "priority"),
            ({"priority": 2_097_153}, "priority"),
            ({"source": job_pb2.JobSource(repository="no-slash")}, "source.repository"),
            ({"source": job_pb2.JobSource(url="ftp://example.com/file")}, "source.url"),
        ]
        for fields, field in cases:
            with self.subTest(field=field, fields=fields):
                request = self.create_request(**fields)
                self.assert_invalid_fields(lambda: self.stub.CreateJob(request, metadata=self.metadata), [field])
                if request.request_id:
                    self.assertEqual(service_support.count_jobs_with_request_id(self.settings, request.request_id), 0)

    def test_create_job_lists_every_violation(self):
        request = self.create_request(request_id="", type="", priority=-1)
        details = self.assert_invalid_fields(
            lambda: self.stub.CreateJob(request, metadata=self.metadata), ["request_id", "type", "priority"]
        )
        self.assertEqual(details.status.message, "invalid request_id: must not be empty (and 2 more)")

    # PostgreSQL's jsonb cannot store the NUL character, so JSON fields containing it are rejected.
    def test_nul_character_in_json_invalid(self):
        request = self.create_request(payload=struct({"body": "before\u0000after"}))
        running = self.running_job()
        nul_gate = gate("tests", False, "1 failed", {"output": "before\u0000after"})
        calls = {
            "payload": lambda: self.stub.CreateJob(request, metadata=self.metadata),
            "result": lambda: self.stub.CompleteJob(
                service_pb2.CompleteJobRequest(id=running.id, result=struct({"log": "before\u0000after"})), metadata=self.metadata
            ),
            "gates[0].details": lambda: self.stub.FailJob(
                service_pb2.FailJobRequest(id=running.id, error="tests failed", gates=[nul_gate]), metadata=self.metadata
            ),
        }
        for field, call in calls.items():
            with self.subTest(field=field):
                self.assert_invalid_fields(call, [field])

    # UpdateJobStatus

    def test_status_queued_to_running(self):
        job = self.create_job()
        running = self.set_status(job.id, job_pb2.JOB_STATUS_RUNNING)

        self.assertEqual(running.status, job_pb2.JOB_STATUS_RUNNING)
        self.assertEqual(running.version, 3)
        self.assertTrue(running.HasField("started_at"))
        events = self.get(job.id).events
        self.assertEqual([(event.type, event.actor) for event in events][-1], ("job.started", ACTOR))
        self.assertEqual(json_format.MessageToDict(events[-1].payload), {"from": "QUEUED", "to": "RUNNING"})

    def test_status_repeat_records_one_event(self):
        job = self.create_job()
        first = self.set_status(job.id, job_pb2.JOB_STATUS_RUNNING, "picked up")
        again = self.set_status(job.id, job_pb2.JOB_STATUS_RUNNING, "picked up")

        self.assertEqual(again, first)
        self.assertEqual(self.event_types(job.id), ["job.created", "job.queued", "job.started"])

    def test_status_late_repeat_unchanged(self):
        running = self.running_job()
        response = self.set_status(running.id, job_pb2.JOB_STATUS_QUEUED)

        self.assertEqual(response, running)
        self.assertEqual(self.event_types(running.id), ["job.created", "job.queued", "job.started"])

    def test_status_invalid_transition(self):
        running = self.running_job()
        self.assert_error(
            lambda: self.set_status(running.id, job_pb2.JOB_STATUS_PENDING),
            grpc.StatusCode.FAILED_PRECONDITION,
            "INVALID_TRANSITION",
            {"id": running.id, "from": "RUNNING", "to": "PENDING"},
        )

        self.stub.CompleteJob(service_pb2.CompleteJobRequest(id=running.id, summary="done"), metadata=self.metadata)
        self.assert_error(
            lambda: self.set_status(running.id, job_pb2.JOB_STATUS_CANCELLED),
            grpc.StatusCode.FAILED_PRECONDITION,
            "INVALID_TRANSITION",
            {"id": running.id, "from": "COMPLETED", "to": "CANCELLED"},
        )
        self.assertEqual(self.get(running.id).job.status, job_pb2.JOB_STATUS_COMPLETED)

    def test_status_cancel_closes_open_step(self):
        running = self.running_job()
        self.report(running.id, 20, "planning", ("plan", "plan"))
        cancelled = self.set_status(running.id, job_pb2.JOB_STATUS_CANCELLED, "issue closed")

        self.assertEqual(cancelled.status, job_pb2.JOB_STATUS_CANCELLED)
        self.assertTrue(cancelled.HasField("completed_at"))
        self.assertEqual(cancelled.error, "")
        page = self.get(running.id)
        self.assertEqual([(step.name, step.status) for step in page.steps], [("plan", job_pb2.STEP_STATUS_CANCELLED)])
        self.assertEqual([event.type for event in page.events][-2:], ["step.cancelled", "job.cancelled"])
        self.assertEqual(
            json_format.MessageToDict(page.events[-1].payload), {"from": "RUNNING", "to": "CANCELLED", "message": "issue closed"}
        )

    def test_status_failed_stores_message_as_error(self):
        job = self.create_job()
        failed = self.set_status(job.id, job_pb2.JOB_STATUS_FAILED, "runner crashed")

        self.assertEqual(failed.status, job_pb2.JOB_STATUS_FAILED)
        self.assertEqual(failed.error, "runner crashed")
        events = self.get(job.id).events
        self.assertEqual(events[-1].type, "job.failed")
        self.assertEqual(json_format.MessageToDict(events[-1].payload), {"from": "QUEUED", "to": "FAILED", "message": "runner crashed"})

    def test_status_unspecified_or_unknown_invalid(self):
        job = self.create_job()
        for status in (job_pb2.JOB_STATUS_UNSPECIFIED, 99):
            with self.subTest(status=status):
                self.assert_invalid_fields(lambda: self.set_status(job.id, status), ["status"])

    def test_status_non_uuid_id_invalid(self):
        details = self.assert_invalid_fields(lambda: self.set_status("not-a-uuid", job_pb2.JOB_STATUS_RUNNING), ["id"])
        self.assertEqual(details.bad_request.field_violations[0].description, 'must be a UUID, got "not-a-uuid"')

    # expected_version

    def test_version_mismatch_aborted(self):
        job = self.create_job()
        self.assert_error(
            lambda: self.set_status(job.id, job_pb2.JOB_STATUS_RUNNING, expected_version=1),
            grpc.StatusCode.ABORTED,
            "VERSION_MISMATCH",
            {"id": job.id, "expected_version": "1", "version": "2"},
        )
        unchanged = self.get(job.id).job
        self.assertEqual(unchanged.status, job_pb2.JOB_STATUS_QUEUED)
        self.assertEqual(unchanged.version, 2)

        running = self.set_status(job.id, job_pb2.JOB_STATUS_RUNNING, expected_version=2)
        self.assertEqual(running.version, 3)

    def test_version_mismatch_on_progress_and_completion(self):
        running = self.running_job()
        self.assert_error(
            lambda: self.report(running.id, 10, "planning", expected_version=2),
            grpc.StatusCode.ABORTED,
            "VERSION_MISMATCH",
            {"id": running.id, "expected_version": "2", "version": "3"},
        )
        self.assert_error(
            lambda: self.stub.CompleteJob(service_pb2.CompleteJobRequest(id=running.id, expected_version=9), metadata=self.metadata),
            grpc.StatusCode.ABORTED,
            "VERSION_MISMATCH",
            {"id": running.id, "expected_version": "9", "version": "3"},
        )
        self.assertEqual(self.get(running.id).job.version, 3)

    def test_repeat_with_stale_version_succeeds(self):
        job = self.create_job()
        running = self.set_status(job.id, job_pb2.JOB_STATUS_RUNNING, expected_version=2)
        repeated = self.set_status(job.id, job_pb2.JOB_STATUS_RUNNING, expected_version=2)
        self.assertEqual(repeated, running)

    def test_version_below_one_invalid(self):
        job = self.create_job()
        self.assert_invalid_fields(lambda: self.set_status(job.id, job_pb2.JOB_STATUS_RUNNING, expected_version=0), ["expected_version"])

    # UpdateJobProgress

    def test_progress_requires_running(self):
        job = self.create_job()
        self.assert_error(
            lambda: self.report(job.id, 10, "planning"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "JOB_NOT_RUNNING",
            {"id": job.id, "status": "QUEUED"},
        )

    def test_progress_after_completion_rejected(self):
        running = self.running_job()
        self.stub.CompleteJob(service_pb2.CompleteJobRequest(id=running.id), metadata=self.metadata)
        self.assert_error(
            lambda: self.report(running.id, 100, "late report"),
            grpc.StatusCode.FAILED_PRECONDITION,
            "JOB_NOT_RUNNING",
            {"id": running.id, "status": "COMPLETED"},
        )

    def test_progress_percent_out_of_range(self):
        running = self.running_job()
        for percent in (-1, 101):
            with self.subTest(percent=percent):
                self.assert_invalid_fields(lambda: self.report(running.id, percent, "out of range"), ["percent"])

    def test_progress_step_needs_name(self):
        running = self.running_job()
        self.assert_invalid_fields(lambda: self.report(running.id, 10, "planning", ("", "plan")), ["step.name"])

    def test_progress_lower_percent_acknowledged_unchanged(self):
        running = self.running_job()
        at_fifty = self.report(running.id, 50, "half way", ("implement", "implement"))
        lower = self.report(running.id, 30, "an older report", ("plan", "plan"))

        self.assertEqual(lower, at_fifty)
        self.assertEqual(lower.progress_percent, 50)
        self.assertEqual(lower.progress_message, "half way")
        page = self.get(running.id)
        self.assertEqual([step.name for step in page.steps], ["implement"])
        self.assertEqual([event.type for event in page.events].count("job.progress"), 1)

    def test_progress_same_report_unchanged(self):
        running = self.running_job()
        first = self.report(running.id, 40, "editing", ("implement", "implement"))
        again = self.report(running.id, 40, "editing", ("implement", "implement"))

        self.assertEqual(again, first)
        self.assertEqual(
            self.event_types(running.id), ["job.created", "job.queued", "job.started", "step.started", "job.progress"]
        )

    def test_progress_new_step_closes_open_step(self):
        running = self.running_job()
        self.report(running.id, 10, "planning", ("plan", "plan"))
        latest = self.report(running.id, 40, "editing", ("implement", "implement"))

        self.assertEqual(latest.progress_percent, 40)
        self.assertEqual(latest.progress_message, "editing")
        self.assertEqual(latest.version, 5)
        page = self.get(running.id)
        self.assertEqual(
            [(step.name, step.ordinal, step.phase, step.status, step.output) for step in page.steps],
            [
                ("plan", 1, "plan", job_pb2.STEP_STATUS_COMPLETED, "planning"),
                ("implement", 2, "implement", job_pb2.STEP_STATUS_RUNNING, "editing"),
            ],
        )
        self.assertTrue(page.steps[0].HasField("completed_at"))
        self.assertFalse(page.steps[1].HasField("completed_at"))
        events = page.events[3:]
        self.assertEqual(
            [(event.type, json_format.MessageToDict(event.payload)) for event in events],
            [
                ("step.started", {"step": "plan", "phase": "plan", "ordinal": 1}),
                ("job.progress", {"percent": 10, "message": "planning", "step": "plan"}),
                ("step.completed", {"step": "plan", "ordinal": 1}),
                ("step.started", {"step": "implement", "phase": "implement", "ordinal": 2}),
                ("job.progress", {"percent": 40, "message": "editing", "step": "implement"}),
            ],
        )

    def test_progress_without_step_updates_open_step(self):
        running = self.running_job()
        self.report(running.id, 10, "planning", ("plan", "plan"))
        latest = self.report(running.id, 20, "plan written")

        self.assertEqual(latest.progress_percent, 20)
        page = self.get(running.id)
        self.assertEqual([(step.name, step.status, step.output) for step in page.steps], [("plan", job_pb2.STEP_STATUS_RUNNING, "plan written")])
        self.assertEqual(json_format.MessageToDict(page.events[-1].payload), {"percent": 20, "message": "plan written"})

    # CompleteJob

    def test_complete_job_closes_open_step(self):
        running = self.running_job()
        self.report(running.id, 90, "verifying", ("verify", "verify"))
        result = struct({"branch": "agent/issue-7", "commits": 2})
        completed = self.stub.CompleteJob(
            service_pb2.CompleteJobRequest(id=running.id, result=result, summary="Fixed the flaky test"), metadata=self.metadata
        ).job

        self.assertEqual(completed.status, job_pb2.JOB_STATUS_COMPLETED)
        self.assertEqual(completed.progress_percent, 100)
        self.assertEqual(completed.progress_message, "verifying")
        self.assertEqual(json_format.MessageToDict(completed.result), {"branch": "agent/issue-7", "commits": 2})
        self.assertEqual(completed.summary, "Fixed the flaky test")
        self.assertTrue(completed.HasField("completed_at"))
        page = self.get(running.id)
        self.assertEqual([(step.name, step.status) for step in page.steps], [("verify", job_pb2.STEP_STATUS_COMPLETED)])
        self.assertEqual([(event.type, event.actor) for event in page.events][-2:], [("step.completed", ACTOR), ("job.completed", ACTOR)])
        self.assertEqual(
            json_format.MessageToDict(page.events[-1].payload), {"from": "RUNNING", "to": "COMPLETED", "summary": "Fixed the flaky test"}
        )

    def test_complete_repeat_records_one_event(self):
        running = self.running_job()
        request = service_pb2.CompleteJobRequest(id=running.id, result=struct({"branch": "agent/issue-7"}), summary="done")
        first = self.stub.CompleteJob(request, metadata=self.metadata).job
        again = self.stub.CompleteJob(request, metadata=self.metadata).job

        self.assertEqual(again, first)
        self.assertEqual(self.event_types(running.id).count("job.completed"), 1)

    def test_complete_different_result_rejected(self):
        running = self.running_job()
        self.stub.CompleteJob(service_pb2.CompleteJobRequest(id=running.id, summary="done"), metadata=self.metadata)
        self.assert_error(
            lambda: self.stub.CompleteJob(service_pb2.CompleteJobRequest(id=running.id, summary="done twice"), metadata=self.metadata),
            grpc.StatusCode.FAILED_PRECONDITION,
            "JOB_ALREADY_FINISHED",
            {"id": running.id, "status": "COMPLETED"},
        )
        self.assertEqual(self.get(running.id).job.summary, "done")

    def test_complete_queued_job_invalid_transition(self):
        job = self.create_job()
        self.assert_error(
            lambda: self.stub.CompleteJob(service_pb2.CompleteJobRequest(id=job.id), metadata=self.metadata),
            grpc.StatusCode.FAILED_PRECONDITION,
            "INVALID_TRANSITION",
            {"id": job.id, "from": "QUEUED", "to": "COMPLETED"},
        )

    # FailJob

    def test_fail_job_records_gates(self):
        running = self.running_job()
        self.report(running.id, 90, "verifying", ("verify", "verify"))
        gates = [
            gate("typecheck", True, "0 errors", {"errors": 0}),
            gate("tests", False, "1 of 12 failed", {"failed": ["pages events"], "total": 12}),
        ]
        failed = self.stub.FailJob(
            service_pb2.FailJobRequest(id=running.id, error="tests failed", gates=gates), metadata=self.metadata
        ).job

        self.assertEqual(failed.status, job_pb2.JOB_STATUS_FAILED)
        self.assertEqual(failed.error, "tests failed")
        self.assertEqual(failed.progress_percent, 90)
        self.assertEqual(list(failed.gates), gates)
        page = self.get(running.id)
        self.assertEqual([(step.name, step.status) for step in page.steps], [("verify", job_pb2.STEP_STATUS_FAILED)])
        self.assertEqual([event.type for event in page.events][-2:], ["step.failed", "job.failed"])
        self.assertEqual(
            json_format.MessageToDict(page.events[-1].payload),
            {"from": "RUNNING", "to": "FAILED", "error": "tests failed", "failedGates": ["tests"]},
        )

    def test_fail_repeat_records_one_event(self):
        running = self.running_job()
        request = service_pb2.FailJobRequest(id=running.id, error="lint failed", gates=[gate("lint", False, "3 problems", {"problems": 3})])
        first = self.stub.FailJob(request, metadata=self.metadata).job
        again = self.stub.FailJob(request, metadata=self.metadata).job

        self.assertEqual(again, first)
        self.assertEqual(self.event_types(running.id).count("job.failed"), 1)

    def test_fail_different_error_rejected(self):
        running = self.running_job()
        self.stub.FailJob(service_pb2.FailJobRequest(id=running.id, error="lint failed"), metadata=self.metadata)
        self.assert_error(
            lambda: self.stub.FailJob(service_pb2.FailJobRequest(id=running.id, error="tests failed"), metadata=self.metadata),
            grpc.StatusCode.FAILED_PRECONDITION,
            "JOB_ALREADY_FINISHED",
            {"id": running.id, "status": "FAILED"},
        )
        self.assertEqual(self.get(running.id).job.error, "lint failed")

    def test_fail_completed_job_invalid_transition(self):
        running = self.running_job()
        self.stub.CompleteJob(service_pb2.CompleteJobRequest(id=running.id), metadata=self.metadata)
        self.assert_error(
            lambda: self.stub.FailJob(service_pb2.FailJobRequest(id=running.id, error="too late"), metadata=self.metadata),
            grpc.StatusCode.FAILED_PRECONDITION,
            "INVALID_TRANSITION",
            {"id": running.id, "from": "COMPLETED", "to": "FAILED"},
        )

    def test_fail_job_invalid_fields(self):
        running = self.running_job()
        self.assert_invalid_fields(
            lambda: self.stub.FailJob(service_pb2.FailJobRequest(id=running.id, error=""), metadata=self.metadata), ["error"]
        )
        nameless = service_pb2.FailJobRequest(id=running.id, error="tests failed", gates=[job_pb2.GateResult(passed=False)])
        self.assert_invalid_fields(lambda: self.stub.FailJob(nameless, metadata=self.metadata), ["gates[0].name"])
        self.assertEqual(self.get(running.id).job.status, job_pb2.JOB_STATUS_RUNNING)

    # Unknown jobs

    def test_unknown_job_not_found(self):
        job_id = str(uuid.uuid4())
        calls = {
            "GetJob": lambda: self.get(job_id),
            "UpdateJobStatus": lambda: self.set_status(job_id, job_pb2.JOB_STATUS_RUNNING),
            "UpdateJobProgress": lambda: self.report(job_id, 10, "planning"),
            "CompleteJob": lambda: self.stub.CompleteJob(service_pb2.CompleteJobRequest(id=job_id), metadata=self.metadata),
            "FailJob": lambda: self.stub.FailJob(service_pb2.FailJobRequest(id=job_id, error="failed"), metadata=self.metadata),
        }
        for method, call in calls.items():
            with self.subTest(method=method):
                self.assert_error(call, grpc.StatusCode.NOT_FOUND, "JOB_NOT_FOUND", {"id": job_id})

    # GetJob paging

    def job_with_events(self) -> job_pb2.Job:
        """Create a completed job with 14 events.

        Creation, dispatch and start record 3, the three steps 2 + 3 + 3, the report without a
        step 1, and the completion 2 (the last step's close and job.completed).
        """
        running = self.running_job()
        for percent, name in ((10, "plan"), (40, "implement"), (80, "verify")):
            self.report(running.id, percent, f"{name} started", (name, name))
        self.report(running.id, 90, "verify finished")
        self.stub.CompleteJob(service_pb2.CompleteJobRequest(id=running.id, summary="done"), metadata=self.metadata)
        return running

    def test_event_paging(self):
        job = self.job_with_events()
        everything = self.get(job.id)
        self.assertEqual([event.sequence for event in everything.events], list(range(1, 15)))
        self.assertEqual(everything.next_page_token, "")

        pages = []
        token = ""
        while True:
            page = self.get(job.id, page_size=5, page_token=token)
            pages.append([event.sequence for event in page.events])
            self.assertEqual(page.job, everything.job)
            self.assertEqual(list(page.steps), list(everything.steps))
            token = page.next_page_token
            if token == "":
                break
            self.assertLess(len(pages), 10, "paging does not end")
        self.assertEqual(pages, [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11, 12, 13, 14]])

    def test_last_full_page_has_no_token(self):
        job = self.job_with_events()
        first = self.get(job.id, page_size=7)
        self.assertEqual([event.sequence for event in first.events], [1, 2, 3, 4, 5, 6, 7])
        self.assertNotEqual(first.next_page_token, "")
        second = self.get(job.id, page_size=7, page_token=first.next_page_token)
        self.assertEqual([event.sequence for event in second.events], [8, 9, 10, 11, 12, 13, 14])
        self.assertEqual(second.next_page_token, "")

    def test_page_token_of_other_job_invalid(self):
        job = self.job_with_events()
        other = self.create_job()
        token = self.get(job.id, page_size=2).next_page_token
        self.assertNotEqual(token, "")
        self.assert_invalid_fields(lambda: self.get(other.id, page_token=token), ["page_token"])
        self.assert_invalid_fields(lambda: self.get(other.id, page_token="not a token"), ["page_token"])

    def test_page_size_out_of_range(self):
        job = self.create_job()
        for page_size in (-1, 1001):
            with self.subTest(page_size=page_size):
                self.assert_invalid_fields(lambda: self.get(job.id, page_size=page_size), ["page_size"])

    # Authentication

    def test_missing_key_unauthenticated(self):
        request = self.create_request()
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.CreateJob(request)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
        self.assertEqual(
            caught.exception.details(), "missing API key: send it in the x-api-key header or as Authorization: Bearer <key>"
        )
        self.assertEqual(service_support.count_jobs_with_request_id(self.settings, request.request_id), 0)

    def test_wrong_key_unauthenticated(self):
        job = self.create_job()
        wrong_keys = {
            "x-api-key": (("x-api-key", "not-the-secret-0123456789"),),
            "bearer": (("authorization", "Bearer not-the-secret-0123456789"),),
            "prefix of the key": (("x-api-key", self.settings.api_key[:-1]),),
        }
        for label, metadata in wrong_keys.items():
            with self.subTest(key=label):
                with self.assertRaises(grpc.RpcError) as caught:
                    self.stub.GetJob(service_pb2.GetJobRequest(id=job.id), metadata=metadata)
                self.assertEqual(caught.exception.code(), grpc.StatusCode.UNAUTHENTICATED)
                self.assertEqual(caught.exception.details(), "invalid API key")

    def test_bearer_key_accepted(self):
        metadata = (("authorization", f"Bearer {self.settings.api_key}"),)
        response = self.stub.CreateJob(self.create_request(), metadata=metadata)
        self.assertTrue(response.created)

        page = self.stub.GetJob(service_pb2.GetJobRequest(id=response.job.id), metadata=metadata)
        self.assertEqual(page.events[0].type, "job.created")
        self.assertEqual(page.events[0].actor, ACTOR)

    # Deadlines

    def test_tiny_deadline_exceeded(self):
        job = self.create_job()
        with self.assertRaises(grpc.RpcError) as caught:
            self.stub.GetJob(service_pb2.GetJobRequest(id=job.id), metadata=self.metadata, timeout=0.001)
        self.assertEqual(caught.exception.code(), grpc.StatusCode.DEADLINE_EXCEEDED)


if __name__ == "__main__":
    unittest.main()
