"""The whole public API fuzzed by schemathesis with all of its checks, against a running platform.

Every operation of the gateway's `/openapi.json` is called with generated requests (valid and
invalid), in every phase (examples, coverage, fuzzing, stateful sequences that follow the
`Location` of what was created) and every answer is checked: no 5xx, each status, header,
content type and body as documented, invalid input refused, valid input accepted, a created
resource readable, undocumented methods refused with the documented `Allow`.

`make test` runs a bounded run of it (tests/e2e/test_gateway_contract.py: a fixed seed, a few thousand
cases); this command is the full one, for as long as it is given:

    python -m bench.api_fuzz                        # a fresh platform (SQLite), 100 examples per operation
    python -m bench.api_fuzz --max-examples 1000 --max-time 3600
    python -m bench.api_fuzz --gateway http://127.0.0.1:8100 --data-dir .data   # a running `make up`

Prints schemathesis' report; exits with its status (0: no failure).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
from collections.abc import Sequence
from pathlib import Path

HERE = Path(__file__).parent
CONFIG = HERE / "schemathesis.toml"  # what the checks tolerate, and why
HOOKS = HERE / "hooks.py"  # unique idempotency keys; the check narrowing positive_data_acceptance
TOKEN_ENV = "KOMAGANE_FUZZ_TOKEN"  # read by schemathesis.toml
# Server-sent events never end: the profile stream cannot be called to completion.
EXCLUDED_PATHS = r".*/stream$"


def fuzz_command(
    gateway_url: str,
    *,
    seed: int | None,
    max_examples: int,
    workers: int = 2,
    max_time: float | None = None,
    report_dir: Path | None = None,
    phases: Sequence[str] = (),
    extra: Sequence[str] = (),
) -> list[str]:
    """The schemathesis command line of one run (the test's bounded one and this bench's)."""
    command = [
        str(Path(sys.executable).with_name("schemathesis")),
        "--config-file",
        str(CONFIG),
        "run",
        f"{gateway_url}/openapi.json",
        "--checks",
        "all",
        "--exclude-path-regex",
        EXCLUDED_PATHS,
        "--max-examples",
        str(max_examples),
        "--workers",
        str(workers),
        "--request-timeout",
        "30",
        "--generation-database",
        "none",
        "--suppress-health-check",
        "all",
        "--no-color",
        "--output-truncate",
        "false",
        "--output-sanitize",
        "false",
    ]
    if seed is not None:
        command += ["--seed", str(seed)]
    if phases:
        command += ["--phases", ",".join(phases)]
    if max_time is not None:
        command += ["--max-time", str(max_time)]
    if report_dir is not None:
        command += ["--report", "ndjson", "--report-dir", str(report_dir)]
    return command + list(extra)


def fuzz_env(token: str) -> dict[str, str]:
    """The hooks, and the bearer token the configuration hands to the `bearer` security scheme
    (so schemathesis also sends requests without it, and expects 401)."""
    return {**os.environ, "SCHEMATHESIS_HOOKS": str(HOOKS), TOKEN_ENV: token}


def run_fuzz(command: Sequence[str], token: str, *, timeout: float | None = None) -> subprocess.CompletedProcess[str]:
    """Runs `command` (fuzz_command) as the caller of `token`, its output captured."""
    return subprocess.run(list(command), capture_output=True, text=True, timeout=timeout, env=fuzz_env(token), check=False)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--gateway", help="A running gateway (default: start a fresh platform)")
    parser.add_argument("--data-dir", type=Path, default=Path(".data"), help="With --gateway: its data dir (signing key)")
    parser.add_argument("--role", default="admin")
    parser.add_argument("--max-examples", type=int, default=100)
    parser.add_argument("--max-time", type=float, default=None, help="Seconds: fuzzing and stateful phases repeat until spent")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument("--workers", type=int, default=2)
    args, extra = parser.parse_known_args()

    from komagane_devstack.stack import Stack, StackConfig
    from komagane_gateway.settings import GatewaySettings
    from komagane_gateway.tokens import mint_token

    def command(gateway_url: str) -> list[str]:
        return fuzz_command(gateway_url, seed=args.seed, max_examples=args.max_examples, workers=args.workers, max_time=args.max_time, extra=extra)

    if args.gateway:
        token = mint_token(GatewaySettings(data_dir=args.data_dir / "gateway"), args.role, subject="api-fuzz", ttl_seconds=24 * 3600)
        sys.exit(subprocess.run(command(args.gateway), env=fuzz_env(token), check=False).returncode)
    with tempfile.TemporaryDirectory(prefix="komagane-fuzz-") as scratch:
        # Rate limits off: thousands of generated requests from one caller are not the subject.
        stack = Stack(StackConfig(data_dir=Path(scratch), extra_env={"RATE_LIMIT_ENABLED": "false", "LOG_LEVEL": "WARNING"}))
        stack.start()
        try:
            assert stack.gateway is not None
            token = stack.mint_token(args.role, subject="api-fuzz", ttl_seconds=24 * 3600)
            code = subprocess.run(command(stack.gateway.url), env=fuzz_env(token), check=False).returncode
        finally:
            stack.stop()
    sys.exit(code)
