"""Schemathesis fuzzes every operation of the OpenAPI schema (with and without the token):
whatever it sends, the API answers with an error it chose, never a 500."""

from __future__ import annotations

from typing import Any

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error
from tests.support.harness import add_release_notes

from masthead.app.workspace import Workspace
from masthead.web import create_app
from masthead.web.throttle import FailureThrottle

EXAMPLES_PER_OPERATION = 60  # about a minute for the whole schema on a 2-core machine


def test_no_request_makes_a_server_error(ws: Workspace, token: str) -> None:
    add_release_notes(ws)  # something to find, so generated ids sometimes hit and sometimes miss
    bearer = {"Authorization": f"Bearer {token}"}
    app = create_app(ws, with_workers=False)
    # Thousands of wrong tokens from one address would close it for the rest of the run (429):
    # this test is about server errors, test_web_hardening.py about the throttle.
    app.state.desk.throttle = FailureThrottle(per_client=10**9, global_limit=10**9)
    schema = schemathesis.openapi.from_asgi("/openapi.json", app, headers=bearer)  # the schema needs the token
    operations = [result.ok() for result in schema.get_all_operations()]
    # The live stream never ends by design; its backlog form is covered in test_api_routes.py.
    operations = [op for op in operations if op.path != "/api/v1/stream"]
    assert len(operations) >= 20
    for operation in operations:

        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, derandomize=True, database=None,
                  suppress_health_check=list(HealthCheck))
        def fuzz(case: Any) -> None:
            case.call_and_validate(headers=bearer, checks=[not_a_server_error])
            case.call_and_validate(checks=[not_a_server_error])  # and without: refused, never crashed

        fuzz()
