"""Property-based contract test of the whole public API (schemathesis over the gateway's OpenAPI).

Every operation of the merged document is called with generated requests, as admin, against a
gateway beside the stack's (rate limits off, so hundreds of generated writes are not 429s):
no answer may be a 5xx, and every documented answer must match its schema. The profile stream
(server-sent events, never ends) is left out. Failures of all operations are collected, so one
run shows every problem.
"""

from __future__ import annotations

from pathlib import Path

import schemathesis
from hypothesis import HealthCheck, given, settings
from schemathesis.checks import not_a_server_error, response_schema_conformance

from komagane_devstack.stack import Stack
from tests.support.gateways import extra_gateway

EXAMPLES_PER_OPERATION = 10


def test_no_server_errors_and_answers_match_the_schema(stack: Stack, tmp_path: Path) -> None:
    token = stack.mint_token("admin", subject="schemathesis", ttl_seconds=3 * 3600)
    failures: list[str] = []
    with extra_gateway(stack, tmp_path, RATE_LIMIT_ENABLED="false") as gateway:
        schema = schemathesis.openapi.from_url(f"{gateway.url}/openapi.json")
        schema.config.base_url = gateway.url
        operations = [result.ok() for result in schema.exclude(path_regex=r".*/stream$").get_all_operations()]  # type: ignore[union-attr]
        assert len(operations) > 50  # the services' documents were merged in
        for operation in operations:

            @given(case=operation.as_strategy())
            @settings(max_examples=EXAMPLES_PER_OPERATION, deadline=None, suppress_health_check=list(HealthCheck), database=None)
            def call(case: schemathesis.Case) -> None:  # type: ignore[type-arg]
                case.call_and_validate(
                    base_url=gateway.url,
                    headers={"Authorization": f"Bearer {token}"},
                    checks=[not_a_server_error, response_schema_conformance],
                    timeout=30,
                )

            try:
                call()
            except (Exception, BaseExceptionGroup) as exc:  # collected and reported together below
                failures.append(f"{operation.label}: {str(exc)[:1500]}")
    assert not failures, "\n\n".join(failures)
