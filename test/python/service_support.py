"""Connection settings, call metadata and error-detail decoding for the Python tests.

run.sh starts the service and passes its address, API key and database to the tests through the
COORDINATOR_JOBS_* environment variables read here. Import this module with gen/python on
PYTHONPATH, because it loads the generated stubs.
"""

import dataclasses
import os
import subprocess

import grpc

from coordinator.v1 import coordinator_jobs_service_pb2_grpc
from google.rpc import error_details_pb2, status_pb2

ADDRESS_VARIABLE = "COORDINATOR_JOBS_ADDRESS"
API_KEY_VARIABLE = "COORDINATOR_JOBS_API_KEY"
DATABASE_URL_VARIABLE = "COORDINATOR_JOBS_DATABASE_URL"
DATABASE_SCHEMA_VARIABLE = "COORDINATOR_JOBS_DATABASE_SCHEMA"

# run.sh registers the API key under this name, so the service records it as the actor.
ACTOR = "coordinator"
# Actor of the changes the service makes itself, such as the move to QUEUED after dispatch.
SYSTEM_ACTOR = "system"

STATUS_DETAILS_KEY = "grpc-status-details-bin"


@dataclasses.dataclass(frozen=True)
class ServiceSettings:
    """Where the service under test listens and how to reach its database."""

    address: str
    """host:port of the service."""
    api_key: str
    database_url: str
    database_schema: str

    @property
    def base_url(self) -> str:
        return f"http://{self.address}"


def read_settings() -> ServiceSettings:
    """Read the settings from the environment. Raises RuntimeError that names a missing variable."""
    values = {}
    for variable in (ADDRESS_VARIABLE, API_KEY_VARIABLE, DATABASE_URL_VARIABLE, DATABASE_SCHEMA_VARIABLE):
        value = os.environ.get(variable, "")
        if value == "":
            raise RuntimeError(
                f"missing environment variable {variable}: run the tests with test/python/run.sh, "
                "which starts the service and sets it"
            )
        values[variable] = value
    return ServiceSettings(
        address=values[ADDRESS_VARIABLE],
        api_key=values[API_KEY_VARIABLE],
        database_url=values[DATABASE_URL_VARIABLE],
        database_schema=values[DATABASE_SCHEMA_VARIABLE],
    )


def open_stub(address: str) -> tuple[grpc.Channel, coordinator_jobs_service_pb2_grpc.CoordinatorJobsServiceStub]:
    """Open a cleartext channel to the service and return it with a CoordinatorJobsService stub."""
    channel = grpc.insecure_channel(address)
    return channel, coordinator_jobs_service_pb2_grpc.CoordinatorJobsServiceStub(channel)


def api_key_metadata(api_key: str) -> tuple[tuple[str, str], ...]:
    """Return call metadata that authenticates with the x-api-key header."""
    return (("x-api-key", api_key),)


@dataclasses.dataclass
class ErrorDetails:
    """The google.rpc.Status of a failed call and the details the service attaches to it."""

    status: status_pb2.Status
    error_info: error_details_pb2.ErrorInfo | None
    bad_request: error_details_pb2.BadRequest | None


def read_error_details(error: grpc.RpcError) -> ErrorDetails:
    """Decode the google.rpc.Status that the service sends in the grpc-status-details-bin trailer.

    Raises AssertionError when the trailer is missing, because every error of this service
    carries at least an ErrorInfo.
    """
    encoded = None
    for key, value in error.trailing_metadata() or ():
        if key == STATUS_DETAILS_KEY:
            encoded = value
    if encoded is None:
        raise AssertionError(f"the {error.code().name} error has no {STATUS_DETAILS_KEY} trailer: {error.details()!r}")

    status = status_pb2.Status.FromString(encoded)
    error_info = None
    bad_request = None
    for detail in status.details:
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            error_info = error_details_pb2.ErrorInfo()
            detail.Unpack(error_info)
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad_request = error_details_pb2.BadRequest()
            detail.Unpack(bad_request)
    return ErrorDetails(status=status, error_info=error_info, bad_request=bad_request)


def count_jobs_with_request_id(settings: ServiceSettings, request_id: str) -> int:
    """Count the rows of the service's jobs table that have this request_id, with psql."""
    # psql interpolates :'name' (a quoted literal) and :"name" (a quoted identifier) only in
    # commands read from stdin, not in -c, so the query goes to stdin.
    query = 'select count(*) from :"schema".jobs where request_id = :\'request_id\';\n'
    completed = subprocess.run(
        [
            "psql",
            "--no-psqlrc",
            "--quiet",
            "--tuples-only",
            "--no-align",
            "--set=ON_ERROR_STOP=1",
            f"--set=schema={settings.database_schema}",
            f"--set=request_id={request_id}",
            settings.database_url,
        ],
        input=query,
        capture_output=True,
        text=True,
        timeout=30,
        check=False,
    )
    if completed.returncode != 0:
        raise RuntimeError(f"psql failed with exit status {completed.returncode}: {completed.stderr.strip()}")
    return int(completed.stdout.strip())
