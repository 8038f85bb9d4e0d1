"""Replay of recorded Gitea deliveries through the coordinator stand-in against a running service.

Run with test/python/run.sh, which starts the service and sets the COORDINATOR_JOBS_* variables.
"""

import dataclasses
import json
import unittest
import urllib.request
import uuid

from google.protobuf import json_format

from coordinator.v1 import coordinator_jobs_service_pb2 as service_pb2
from coordinator.v1 import job_pb2

import coordinator_standin as standin
import service_support
from service_support import ACTOR, SYSTEM_ACTOR

ACTIONABLE = {
    "issues_opened": standin.CODE_TASK,
    "issues_assigned": standin.CODE_TASK,
    "issues_label_updated": standin.CODE_TASK,
    "pull_request_opened": standin.REVIEW_TASK,
}
IGNORED = {"issue_comment_created", "issues_closed", "push"}
# The scripted runs of these deliveries end with failing quality gates, and the others complete.
FAILING = {"issues_label_updated", "pull_request_opened"}

DELIVERY_IDS = {
    "issues_opened": "388b5943-e914-4824-a5c8-4d22a357e5ab",
    "issues_assigned": "752c6aa6-2f27-43de-8a31-ae942dd37f8a",
    "issues_label_updated": "07051497-06ca-4958-a469-9b0a9e0a335c",
    "pull_request_opened": "0e0243a3-8946-4cb0-b82b-92719e347ab2",
    "issues_closed": "b788ccf0-776b-4575-a8e8-d8ebdab47aa1",
    "issue_comment_created": "e9240cfc-8f0f-4d92-a22e-10be0a496e0a",
    "push": "86a77a9f-d698-4019-a828-5e1bdf8dd30a",
}

ISSUE_URL = "http://localhost:3000/example/example/issues/1"
EXPECTED_SOURCES = {
    "issues_opened": {
        "forge": "gitea",
        "repository": "example/example",
        "issueNumber": 1,
        "url": ISSUE_URL,
        "event": "issues",
        "action": "opened",
        "deliveryId": DELIVERY_IDS["issues_opened"],
    },
    "issues_assigned": {
        "forge": "gitea",
        "repository": "example/example",
        "issueNumber": 1,
        "url": ISSUE_URL,
        "event": "issues",
        "action": "assigned",
        "deliveryId": DELIVERY_IDS["issues_assigned"],
    },
    "issues_label_updated": {
        "forge": "gitea",
        "repository": "example/example",
        "issueNumber": 1,
        "url": ISSUE_URL,
        "event": "issues",
        "action": "label_updated",
        "deliveryId": DELIVERY_IDS["issues_label_updated"],
    },
    "pull_request_opened": {
        "forge": "gitea",
        "repository": "example/example",
        "pullRequestNumber": 2,
        "url": "http://localhost:3000/example/example/pulls/2",
        "event": "pull_request",
        "action": "opened",
        "deliveryId": DELIVERY_IDS["pull_request_opened"],
    },
}

EXAMPLE_REPOSITORY = {
    "full_name": "example/example",
    "clone_url": "http://localhost:3000/example/example.git",
    "default_branch": "master",
}
EXPECTED_PAYLOADS = {
    "issues_opened": {
        "event_type": "issues",
        "title": "example",
        "body": "",
        "labels": [],
        "assignees": [],
        "sender": "example",
        "repository": EXAMPLE_REPOSITORY,
    },
    "issues_assigned": {
        "event_type": "issue_assign",
        "title": "example",
        "body": "",
        "labels": [],
        "assignees": ["example"],
        "sender": "example",
        "repository": EXAMPLE_REPOSITORY,
    },
    "issues_label_updated": {
        "event_type": "issue_label",
        "title": "example",
        "body": "",
        "labels": ["bug"],
        "assignees": ["example"],
        "sender": "example",
        "repository": EXAMPLE_REPOSITORY,
    },
    "pull_request_opened": {
        "event_type": "pull_request",
        "title": "update",
        "body": "",
        "labels": [],
        "assignees": [],
        "sender": "example2",
        "repository": EXAMPLE_REPOSITORY,
        "head": {"repository": "example2/example", "ref": "master", "sha": "48e773f892a831faa47c0a160d1b7f0cd369ae2a"},
        "base": {"ref": "master", "sha": "67b56589a45103f891bdee7c0546e5d40bc02001"},
    },
}

PRIORITIES = {standin.CODE_TASK: 10, standin.REVIEW_TASK: 5}

RUN_EVENTS = [
    ("job.created", ACTOR),
    ("job.queued", SYSTEM_ACTOR),
    ("job.started", ACTOR),
    ("step.started", ACTOR),
    ("job.progress", ACTOR),
    ("step.completed", ACTOR),
    ("step.started", ACTOR),
    ("job.progress", ACTOR),
    ("job.progress", ACTOR),
    ("step.completed", ACTOR),
    ("step.started", ACTOR),
    ("job.progress", ACTOR),
]
COMPLETED_EVENTS = RUN_EVENTS + [("step.completed", ACTOR), ("job.completed", ACTOR)]
FAILED_EVENTS = RUN_EVENTS + [("step.failed", ACTOR), ("job.failed", ACTOR)]

PROGRESS_PAYLOADS = [
    {"percent": 10, "message": "reading the request and the code it touches", "step": "plan"},
    {"percent": 40, "message": "editing the code", "step": "implement"},
    {"percent": 70, "message": "adding tests for the change", "step": "implement"},
    {"percent": 90, "message": "running typecheck, lint and tests", "step": "verify"},
]


def expected_steps(last_status: int) -> list[tuple]:
    return [
        ("plan", 1, "plan", job_pb2.STEP_STATUS_COMPLETED, "reading the request and the code it touches"),
        ("implement", 2, "implement", job_pb2.STEP_STATUS_COMPLETED, "adding tests for the change"),
        ("verify", 3, "verify", last_status, "running typecheck, lint and tests"),
    ]


EXPECTED_GATES = [
    {"name": "typecheck", "passed": True, "message": "tsc --noEmit: 0 errors", "details": {"errors": 0}},
    {"name": "lint", "passed": True, "message": "0 problems", "details": {"problems": 0}},
    {
        "name": "tests",
        "passed": False,
        "message": "2 of 48 tests failed",
        "details": {
            "failed": ["jobs.test.ts > rejects a stale version", "jobs.test.ts > pages events"],
            "passed": 46,
            "total": 48,
        },
    },
]

EXPECTED_RESULTS = {
    "issues_opened": {"branch": "agent/issue-1", "gates": {"typecheck": "passed", "lint": "passed", "tests": "passed"}},
    "issues_assigned": {"branch": "agent/issue-1", "gates": {"typecheck": "passed", "lint": "passed", "tests": "passed"}},
}
EXPECTED_SUMMARIES = {
    "issues_opened": "Handled issue #1 of example/example: all quality gates passed",
    "issues_assigned": "Handled issue #1 of example/example: all quality gates passed",
}


def with_payload(delivery: standin.Delivery, payload: dict) -> standin.Delivery:
    """Return a copy of a delivery with another body. Its signature no longer matches."""
    return dataclasses.replace(delivery, body=json.dumps(payload).encode())


class ReplayTest(unittest.TestCase):
    settings: service_support.ServiceSettings
    deliveries: dict[str, standin.Delivery]
    handled: dict[str, standin.HandledDelivery]

    @classmethod
    def setUpClass(cls):
        cls.settings = service_support.read_settings()
        cls.channel, cls.stub = service_support.open_stub(cls.settings.address)
        cls.metadata = service_support.api_key_metadata(cls.settings.api_key)
        cls.standin = standin.CoordinatorStandIn(cls.stub, cls.settings.api_key)
        cls.deliveries = {delivery.name: delivery for delivery in standin.load_deliveries(standin.cases_dir())}
        cls.handled = {
            name: cls.standin.handle(delivery, fail_verification=name in FAILING) for name, delivery in cls.deliveries.items()
        }

    @classmethod
    def tearDownClass(cls):
        cls.channel.close()

    def readback(self, name: str) -> standin.JobReadback:
        readback = self.handled[name].readback
        self.assertIsNotNone(readback, f"{name} created no job")
        return readback

    def test_cases_folder_contains_expected_deliveries(self):
        self.assertEqual(set(self.deliveries), set(ACTIONABLE) | IGNORED)

    def test_every_delivery_signature_verifies(self):
        for name, delivery in self.deliveries.items():
            with self.subTest(delivery=name):
                standin.verify_signature(delivery)

    def test_tampered_body_raises_and_creates_no_job(self):
        original = self.deliveries["issues_opened"]
        delivery_id = str(uuid.uuid4())
        tampered = dataclasses.replace(
            original,
            body=original.body.replace(b'"title": "example"', b'"title": "exampl3"', 1),
            headers={**original.headers, "x-gitea-delivery": delivery_id},
        )
        self.assertNotEqual(tampered.body, original.body)

        with self.assertRaises(standin.InvalidSignatureError):
            self.standin.handle(tampered)
        self.assertEqual(service_support.count_jobs_with_request_id(self.settings, delivery_id), 0)

    def test_missing_signature_raises(self):
        original = self.deliveries["issues_opened"]
        headers = {name: value for name, value in original.headers.items() if name != "x-gitea-signature"}
        with self.assertRaises(standin.InvalidSignatureError):
            self.standin.handle(dataclasses.replace(original, headers=headers))

    def test_decisions_follow_actionable_rule(self):
        for name, handled in self.handled.items():
            with self.subTest(delivery=name):
                self.assertEqual(handled.decision.job_type, ACTIONABLE.get(name))

    def test_ignored_deliveries_create_no_job(self):
        for name in sorted(IGNORED):
            with self.subTest(delivery=name):
                self.assertIsNone(self.handled[name].create_response)
                self.assertIsNone(self.handled[name].readback)
                self.assertEqual(service_support.count_jobs_with_request_id(self.settings, DELIVERY_IDS[name]), 0)

    def test_actionable_deliveries_create_one_job_each(self):
        job_ids = set()
        for name in sorted(ACTIONABLE):
            with self.subTest(delivery=name):
                self.assertEqual(service_support.count_jobs_with_request_id(self.settings, DELIVERY_IDS[name]), 1)
                job_ids.add(self.readback(name).job.id)
        self.assertEqual(len(job_ids), len(ACTIONABLE))

    def test_create_response_is_new_and_queued(self):
        for name in sorted(ACTIONABLE):
            with self.subTest(delivery=name):
                response = self.handled[name].create_response
                self.assertTrue(response.created)
                self.assertTrue(response.dispatched)
                self.assertEqual(response.job.status, job_pb2.JOB_STATUS_QUEUED)
                self.assertEqual(response.job.version, 2)
                self.assertEqual(response.job.progress_percent, 0)

    def test_job_fields_come_from_delivery(self):
        for name, job_type in sorted(ACTIONABLE.items()):
            with self.subTest(delivery=name):
                job = self.readback(name).job
                self.assertEqual(job.request_id, DELIVERY_IDS[name])
                self.assertEqual(job.type, job_type)
                self.assertEqual(job.queue, standin.QUEUE)
                self.assertEqual(job.priority, PRIORITIES[job_type])
                self.assertEqual(json_format.MessageToDict(job.source), EXPECTED_SOURCES[name])
                self.assertEqual(json_format.MessageToDict(job.payload), EXPECTED_PAYLOADS[name])

    def test_completed_jobs_final_state(self):
        for name in sorted(set(ACTIONABLE) - FAILING):
            with self.subTest(delivery=name):
                job = self.readback(name).job
                self.assertEqual(job.status, job_pb2.JOB_STATUS_COMPLETED)
                self.assertEqual(job.progress_percent, 100)
                self.assertEqual(job.progress_message, "running typecheck, lint and tests")
                self.assertEqual(json_format.MessageToDict(job.result), EXPECTED_RESULTS[name])
                self.assertEqual(job.summary, EXPECTED_SUMMARIES[name])
                self.assertEqual(job.error, "")
                self.assertEqual(len(job.gates), 0)
                # Creation sets version 1 and dispatch version 2. The start, 4 progress reports and the completion add one each.
                self.assertEqual(job.version, 8)

    def test_failed_jobs_final_state(self):
        for name in sorted(FAILING):
            with self.subTest(delivery=name):
                job = self.readback(name).job
                self.assertEqual(job.status, job_pb2.JOB_STATUS_FAILED)
                self.assertEqual(job.progress_percent, 90)
                self.assertEqual(job.progress_message, "running typecheck, lint and tests")
                self.assertEqual(job.error, standin.FAILURE_ERROR)
                # Without including_default_value_fields, MessageToDict would drop "passed": False.
                gates = [json_format.MessageToDict(gate, including_default_value_fields=True) for gate in job.gates]
                self.assertEqual(gates, EXPECTED_GATES)
                self.assertFalse(job.HasField("result"))
                self.assertEqual(job.summary, "")
                self.assertEqual(job.version, 8)

    def test_job_timestamps_are_ordered(self):
        for name in sorted(ACTIONABLE):
            with self.subTest(delivery=name):
                job = self.readback(name).job
                for field in ("created_at", "queued_at", "started_at", "completed_at", "updated_at"):
                    self.assertTrue(job.HasField(field), field)
                created = job.created_at.ToDatetime()
                queued = job.queued_at.ToDatetime()
                started = job.started_at.ToDatetime()
                completed = job.completed_at.ToDatetime()
                self.assertLessEqual(created, queued)
                self.assertLessEqual(queued, started)
                self.assertLessEqual(started, completed)
                self.assertEqual(job.updated_at.ToDatetime(), completed)

    def test_event_types_and_actors(self):
        for name in sorted(ACTIONABLE):
            with self.subTest(delivery=name):
                events = self.readback(name).events
                expected = FAILED_EVENTS if name in FAILING else COMPLETED_EVENTS
                self.assertEqual([(event.type, event.actor) for event in events], expected)
                self.assertEqual([event.sequence for event in events], list(range(1, len(expected) + 1)))
                times = [event.time.ToDatetime() for event in events]
                self.assertEqual(times, sorted(times))

    def test_event_payloads(self):
        for name in sorted(ACTIONABLE):
            with self.subTest(delivery=name):
                events = self.readback(name).events
                payloads = [json_format.MessageToDict(event.payload) for event in events]
                self.assertEqual(
                    payloads[0],
                    {"queue": standin.QUEUE, "type": ACTIONABLE[name], "requestId": DELIVERY_IDS[name]},
                )
                self.assertEqual(payloads[1], {"from": "PENDING", "to": "QUEUED", "queue": standin.QUEUE})
                self.assertEqual(payloads[2], {"from": "QUEUED", "to": "RUNNING", "message": "runner picked up the job"})
                progress = [payload for event, payload in zip(events, payloads) if event.type == "job.progress"]
                self.assertEqual(progress, PROGRESS_PAYLOADS)
                self.assertEqual(payloads[-2], {"step": "verify", "ordinal": 3})
                if name in FAILING:
                    self.assertEqual(
                        payloads[-1],
                        {"from": "RUNNING", "to": "FAILED", "error": standin.FAILURE_ERROR, "failedGates": ["tests"]},
                    )
                else:
                    self.assertEqual(
                        payloads[-1],
                        {"from": "RUNNING", "to": "COMPLETED", "summary": EXPECTED_SUMMARIES[name]},
                    )

    def test_steps_names_ordinals_statuses(self):
        for name in sorted(ACTIONABLE):
            with self.subTest(delivery=name):
                steps = self.readback(name).steps
                last_status = job_pb2.STEP_STATUS_FAILED if name in FAILING else job_pb2.STEP_STATUS_COMPLETED
                actual = [(step.name, step.ordinal, step.phase, step.status, step.output) for step in steps]
                self.assertEqual(actual, expected_steps(last_status))
                for step in steps:
                    self.assertTrue(step.HasField("started_at"), step.name)
                    self.assertTrue(step.HasField("completed_at"), step.name)

    def test_second_replay_returns_same_job(self):
        for name in sorted(ACTIONABLE):
            with self.subTest(delivery=name):
                first = self.readback(name)
                again = self.standin.handle(self.deliveries[name], fail_verification=name in FAILING)

                self.assertFalse(again.create_response.created)
                self.assertEqual(again.create_response.job.id, first.job.id)
                self.assertEqual(json_format.MessageToDict(again.create_response.job), json_format.MessageToDict(first.job))
                self.assertEqual(
                    [json_format.MessageToDict(event) for event in again.readback.events],
                    [json_format.MessageToDict(event) for event in first.events],
                )
                self.assertEqual(
                    [json_format.MessageToDict(step) for step in again.readback.steps],
                    [json_format.MessageToDict(step) for step in first.steps],
                )
                self.assertEqual(service_support.count_jobs_with_request_id(self.settings, DELIVERY_IDS[name]), 1)

    def test_connect_json_matches_grpc(self):
        for name in sorted(ACTIONABLE):
            with self.subTest(delivery=name):
                job_id = self.readback(name).job.id
                over_grpc = self.stub.GetJob(service_pb2.GetJobRequest(id=job_id, page_size=5), metadata=self.metadata)
                request = urllib.request.Request(
                    f"{self.settings.base_url}/coordinator.v1.CoordinatorJobsService/GetJob",
                    data=json.dumps({"id": job_id, "pageSize": 5}).encode(),
                    headers={
                        "Content-Type": "application/json",
                        "Connect-Protocol-Version": "1",
                        "x-api-key": self.settings.api_key,
                    },
                    method="POST",
                )
                with urllib.request.urlopen(request, timeout=10) as response:
                    self.assertEqual(response.status, 200)
                    self.assertEqual(response.headers.get_content_type(), "application/json")
                    over_connect = json.loads(response.read())

                self.assertEqual(len(over_grpc.events), 5)
                self.assertNotEqual(over_grpc.next_page_token, "")
                self.assertEqual(over_connect, json_format.MessageToDict(over_grpc))

    def test_source_url_falls_back_to_repository(self):
        source = standin.build_source(self.deliveries["issues_closed"])
        self.assertEqual(
            json_format.MessageToDict(source),
            {
                "forge": "gitea",
                "repository": "alice/test",
                "issueNumber": 3,
                "url": "https://forge.example.com/alice/test/issues/3",
                "event": "issues",
                "action": "closed",
                "deliveryId": DELIVERY_IDS["issues_closed"],
            },
        )

    def test_pull_request_comment_sets_pull_number(self):
        delivery = self.deliveries["issue_comment_created"]
        payload = delivery.payload()
        payload["is_pull"] = True
        source = standin.build_source(with_payload(delivery, payload))
        self.assertEqual(source.pull_request_number, 1)
        self.assertEqual(source.issue_number, 0)
        self.assertEqual(source.url, ISSUE_URL)

    def test_label_changes_without_labels_ignored(self):
        delivery = self.deliveries["issues_label_updated"]
        payload = delivery.payload()
        payload["issue"]["labels"] = []
        self.assertFalse(standin.decide(with_payload(delivery, payload)).actionable)
        payload["action"] = "label_cleared"
        self.assertFalse(standin.decide(with_payload(delivery, payload)).actionable)

    def test_pull_request_closed_ignored(self):
        delivery = self.deliveries["pull_request_opened"]
        payload = delivery.payload()
        payload["action"] = "closed"
        payload["pull_request"]["merged"] = True
        self.assertFalse(standin.decide(with_payload(delivery, payload)).actionable)


if __name__ == "__main__":
    unittest.main()
