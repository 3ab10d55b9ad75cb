"""Property-based run over the inbox API's OpenAPI: no 500s, responses match their schemas.

Operations are driven one by one with hypothesis (schemathesis's pytest plugin does not
load under this pytest); each gets its own examples, and every failure is reported.
"""

from __future__ import annotations

import schemathesis
from hypothesis import HealthCheck, given, settings

from inbox.app import create_app
from tests.integration.inbox.api_support import make_agent, receive
from tests.support.builders import message_received

EXAMPLES = 20
# What the issue asks of the API; rejecting a schema-valid but meaningless value (a cursor
# that is not one of ours, a merge of unrelated conversations) with 4xx is correct.
CHECKS = [
    schemathesis.checks.not_a_server_error,
    schemathesis.checks.response_schema_conformance,
    schemathesis.checks.status_code_conformance,
    schemathesis.checks.content_type_conformance,
]
# The event stream never ends by itself; signing out would end the run's session.
SKIPPED = {"GET /api/v1/events", "DELETE /api/v1/session"}


def test_the_api_matches_its_openapi_and_never_fails(inbox_settings, pool, db):
    receive(pool, message_received(external_id="<fuzz@example.net>"))
    app = create_app(inbox_settings, pool)
    headers = make_agent(pool, "fuzz-admin@example.com", role="admin").headers
    schema = schemathesis.openapi.from_wsgi("/api/openapi.json", app)
    failures, exercised = [], 0
    for result in schema.get_all_operations():
        operation = result.ok()
        if operation.label in SKIPPED:
            continue
        exercised += 1

        @given(case=operation.as_strategy())
        @settings(
            max_examples=EXAMPLES,
            deadline=None,
            database=None,
            suppress_health_check=list(HealthCheck),
        )
        def run(case) -> None:
            case.call_and_validate(headers=headers, checks=CHECKS)

        try:
            run()
        except Exception as exc:  # collect every operation's failure, not just the first
            failures.append(f"{operation.label}: {exc}")
    assert exercised > 20
    assert not failures, "\n\n".join(failures)
