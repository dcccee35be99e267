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

import pytest

from bench.api_fuzz import fuzz_command, run_fuzz
from komagane_devstack.stack import Stack
from tests.support.gateways import extra_gateway

SEED = 20
# Per operation and phase; the document has about 110 operations.
EXAMPLES = {"admin": 10, "resident": 2}
RUN_TIMEOUT_SECONDS = 900


@pytest.mark.parametrize("role", list(EXAMPLES))
def test_the_api_does_what_its_openapi_document_says(stack: Stack, tmp_path: Path, role: str) -> None:
    token = stack.mint_token(role, subject=f"schemathesis-{role}", ttl_seconds=3 * 3600)
    with extra_gateway(stack, tmp_path, RATE_LIMIT_ENABLED="false") as gateway:
        command = fuzz_command(gateway.url, token, seed=SEED, max_examples=EXAMPLES[role], report_dir=tmp_path / "report")
        result = run_fuzz(command, timeout=RUN_TIMEOUT_SECONDS)
    summary = result.stdout[result.stdout.rfind("SUMMARY") :]
    assert "Operations:" in result.stdout and "Test cases:" in summary, result.stdout[-5000:] + result.stderr[-3000:]
    assert result.returncode == 0, result.stdout[-30000:] + result.stderr[-3000:]
