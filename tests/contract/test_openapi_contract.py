"""The API keeps the contract its own OpenAPI document states: schemathesis generates requests from the document
(valid ones and, in its coverage and fuzzing phases, invalid ones too) and sends them over HTTP to the local
stack, through the stand-in for API Gateway's Cognito authorizer, with real access tokens from the hosted-login
stand-in: a machine's (client credentials) and a person's script's (the CLI client's code flow with PKCE).

Every answer must be no server error, a status the operation declares, with the declared content type, body
schema and headers. Each operation is tested on its own, then in sequences (create, then read, change, list,
delete what was made), following the links schemathesis infers from the operations' parameters and answers.

The document is generated at collection time by the app's own generator (schemathesis builds one test per
operation before any fixture runs); the first test checks that it is exactly what the stack serves.
"""

from __future__ import annotations

import uuid

import pytest
import requests
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.checks import not_a_server_error
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_headers_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from tests.contract.conftest import TIMEOUT, Caller
from webapp.api import openapi

SERVER, RESOURCE_SERVER = "/api/v1", "dashboard"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
    response_headers_conformance,
]
# Bounded for time (the whole folder in about a minute on 2 cores) and reproducible: the same cases every run.
BOUNDED = {"derandomize": True, "deadline": None, "database": None, "suppress_health_check": list(HealthCheck)}
PER_OPERATION = settings(max_examples=25, **BOUNDED)
SEQUENCES = settings(max_examples=15, stateful_step_count=6, **BOUNDED)

A_RECORD = {"title": "Contract", "status": "open", "amount": "12.50", "due": "2027-01-31", "tags": ["api"]}

schema = schemathesis.openapi.from_dict(openapi.document(SERVER, "http://localhost:4567", RESOURCE_SERVER))


@pytest.fixture(scope="package", params=["machine", "person"])
def caller(request) -> Caller:
    """Each operation is tested once as a machine client and once as a person's script."""
    return request.getfixturevalue(request.param)


def test_the_stack_serves_the_document_these_tests_are_generated_from(stack, api_url, http: requests.Session):
    served = http.get(f"{api_url}/openapi.json", timeout=TIMEOUT)
    assert served.status_code == 200 and served.headers["Content-Type"] == "application/json"
    assert served.json() == openapi.document(SERVER, stack.login_url, RESOURCE_SERVER)


AS_GENERATED, OWN_RECORD, OWN_RECORD_AT_ITS_VERSION = range(3)


def target_of(case) -> int:
    """Where a case on one record goes, picked by its own random id (so a replay goes to the same place)."""
    try:
        return uuid.UUID(str(case.path_parameters["record_id"])).int % 3
    except (ValueError, KeyError, TypeError):
        return AS_GENERATED  # an invalid id (a negative case): sent as generated


@pytest.fixture(scope="package")
def own_record(api_url, http):
    """A record of the caller's to send a case to, reused while it lasts (each write costs the local stack time,
    at the latest when it stops): its id and current ETag, or a new one when a case has deleted it."""
    kept: dict[str, str] = {}

    def current(caller: Caller) -> tuple[str, str]:
        if caller.name in kept:
            found = http.get(f"{api_url}/records/{kept[caller.name]}", headers=caller.headers, timeout=TIMEOUT)
            if found.status_code == 200:
                return kept[caller.name], found.headers["ETag"]
        made = http.post(f"{api_url}/records", json=A_RECORD, headers=caller.headers, timeout=TIMEOUT)
        assert made.status_code == 201, made.text
        kept[caller.name] = made.json()["id"]
        return kept[caller.name], made.headers["ETag"]

    return current


@schema.parametrize()
@PER_OPERATION
def test_every_answer_of_an_operation_is_one_the_document_declares(case, caller: Caller, own_record, api_url, http):
    """Random record ids find nothing (404), so two thirds of the cases on a record are sent to a record of the
    caller's instead, half of those with If-Match at its ETag (when the case sends If-Match at all)."""
    target = target_of(case) if case.path_parameters else AS_GENERATED
    if target != AS_GENERATED:
        case.path_parameters["record_id"], etag = own_record(caller)
        if target == OWN_RECORD_AT_ITS_VERSION and "If-Match" in (case.headers or {}):
            case.headers["If-Match"] = etag
    case.call_and_validate(base_url=api_url, session=http, headers=caller.headers, checks=CHECKS, timeout=TIMEOUT)


@pytest.mark.parametrize("kind", ["machine", "person"])
def test_every_answer_in_a_sequence_of_operations_is_one_the_document_declares(kind, new_caller, api_url, http):
    """Sequences of calls that follow the links schemathesis infers (a record created or listed, then read,
    changed, its history read, deleted). Each sequence is a new caller's, starting with no records: a
    sequence replayed meets the same answers, which Hypothesis needs (and which a shared account would not
    give, as records pile up and Idempotency-Keys come back)."""
    statuses: dict[str, set[int]] = {}

    class Sequences(schema.as_state_machine()):
        def setup(self):
            self.caller = new_caller(kind)

        def get_call_kwargs(self, case):
            return {"base_url": api_url, "session": http, "headers": self.caller.headers, "timeout": TIMEOUT}

        def after_call(self, response, case):
            statuses.setdefault(case.operation.label, set()).add(response.status_code)

        def validate_response(self, response, case, additional_checks=None, **kwargs):
            case.validate_response(response, checks=CHECKS)

    Sequences.run(settings=SEQUENCES)
    reached = {label for label, codes in statuses.items() if codes & {200, 201, 204}}
    assert {"POST /records", "GET /records/{record_id}", "GET /records/{record_id}/history"} <= reached, statuses


# What these tests found that the document cannot say, pinned as regressions.


def test_a_patch_whose_if_match_names_a_version_the_record_never_had_is_412(machine: Caller, api_url, http):
    """Found in the sequences: `If-Match: "964"` on a record at version 1 saved the change (200, version 2), as
    if 964 were a stale version whose later saves touched nothing; "0" too, for a field the create left unset.
    Now, as a DELETE with the same If-Match, it is 412."""
    made = http.post(f"{api_url}/records", json=A_RECORD, headers=machine.headers, timeout=TIMEOUT)
    record = made.headers["Location"].rsplit("/", 1)[1]
    for never in ('"964"', '"0"'):
        answer = http.patch(
            f"{api_url}/records/{record}",
            json={"notes": "Changed"},
            headers=machine.headers | {"If-Match": never},
            timeout=TIMEOUT,
        )
        assert answer.status_code == 412, (never, answer.status_code, answer.text)
