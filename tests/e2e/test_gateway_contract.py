"""Property-based contract test of the whole public API: schemathesis with all of its checks.

A bounded run of `python -m bench.api_fuzz` (same command line, hooks and configuration): a fixed
seed and a few thousand cases over every operation of the gateway's merged `/openapi.json`, in
every phase (examples, coverage, fuzzing, stateful sequences following `Location`), against a
gateway beside the stack's with rate limits off (thousands of generated writes are not 429s).
As admin, who may call everything; then as a resident, whom most routes refuse (403 answers
must be documented too). The profile stream (server-sent events, never ends) is left out.
Zero failures: the output names each one with a curl line to reproduce it.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx
import pytest

from bench.api_fuzz import fuzz_command, run_fuzz
from komagane_devstack.stack import Stack
from komagane_gateway.routes import SERVICES, owner_of
from tests.support.gateways import extra_gateway
from tests.support.waiting import eventually

SEED = 20
# Per operation and phase; the document has about 110 operations. The resident's run skips the
# coverage phase (the same deterministic cases as the admin's, about 2,000, mostly refused).
# The admin's run leaves out the stateful phase: its sequences (register a person, then read
# them at another service) race the other services' replicas of the people topic, which catch
# up a moment later by design (docs/event-path.md); whether a GET lands before or after is timing, not
# behaviour. `python -m bench.api_fuzz` runs every phase, stateful included. Every check runs.
EXAMPLES = {"admin": 8, "resident": 10}
PHASES = {"admin": ("examples", "coverage", "fuzzing"), "resident": ("examples", "fuzzing", "stateful")}
RUN_TIMEOUT_SECONDS = 1200

pytestmark = pytest.mark.timeout(RUN_TIMEOUT_SECONDS + 300)


async def _complete_document(url: str) -> dict[str, Any]:
    async def complete() -> dict[str, Any] | None:
        async with httpx.AsyncClient(timeout=30) as client:
            document: dict[str, Any] = (await client.get(f"{url}/openapi.json")).json()
        documented = {owner_of(path) for path in document["paths"]}
        return document if documented >= set(SERVICES) else None

    return await eventually(complete, timeout=60, interval=1, what="every service's operations in the gateway's document")


@pytest.mark.parametrize("role", list(EXAMPLES))
async def test_the_api_does_what_its_openapi_document_says(stack: Stack, tmp_path: Path, role: str) -> None:
    token = stack.mint_token(role, subject=f"schemathesis-{role}", ttl_seconds=3 * 3600)
    with extra_gateway(stack, tmp_path, RATE_LIMIT_ENABLED="false") as gateway:
        await _complete_document(gateway.url)
        command = fuzz_command(gateway.url, seed=SEED, max_examples=EXAMPLES[role], workers=1, phases=PHASES[role])
        result = run_fuzz(command, token, timeout=RUN_TIMEOUT_SECONDS)
    (tmp_path / "schemathesis.out").write_text(result.stdout + result.stderr)
    summary = result.stdout[result.stdout.rfind("SUMMARY") :]
    assert "Test cases:" in summary, result.stdout[-5000:] + result.stderr[-3000:]
    assert result.returncode == 0, result.stdout[-30000:] + result.stderr[-3000:]


async def test_a_hub_just_created_has_a_mix_with_no_months(gateway: httpx.AsyncClient) -> None:
    created = await gateway.post("/v1/hubs", json={"name_ja": "新しい拠点", "kind": "COMMUNITY_HALL", "area": "中央"})
    assert created.status_code == 201, created.text
    mix = await gateway.get(f"/v1/hubs/{created.json()['id']}/mix")
    assert mix.status_code == 200 and mix.json()["months"] == {}, mix.text
    assert (await gateway.get("/v1/hubs/no-such-hub/mix")).status_code == 404


async def test_another_method_on_a_gateway_route_is_405_with_what_the_document_lists(gateway: httpx.AsyncClient) -> None:
    document = (await gateway.get("/openapi.json")).json()
    for path in ("/v1/kpis", "/v1/alerts/lapses"):
        answer = await gateway.put(path, json={})
        assert answer.status_code == 405, answer.text
        assert answer.headers["allow"] == ", ".join(sorted(m.upper() for m in document["paths"][path]))
        assert answer.headers["content-type"] == "application/problem+json"
    for path, template in (("/v1/activities", "/v1/activities"), ("/v1/activities/a-1", "/v1/activities/{activity_id}")):
        answer = await gateway.options(path)  # the services' methods too, as the document lists them
        assert answer.status_code == 405 and answer.headers["allow"] == ", ".join(sorted(m.upper() for m in document["paths"][template])), answer.text
    async with httpx.AsyncClient(base_url=str(gateway.base_url), timeout=30) as anonymous:
        answer = await anonymous.put("/v1/schemas/jp.komagane.people.person-registered.v1", json={})
    assert answer.status_code == 405 and answer.headers["allow"] == "GET", answer.text  # not 401: the path is public
