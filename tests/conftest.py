"""Test harness: real PostgreSQL, Kafka, Redis and the services, started once per run.

Unit tests (tests/unit) need none of it; fixtures start parts lazily, only when a test asks.
"""

from __future__ import annotations

import os
import shutil
import tempfile
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from komagane_devstack.infra import PostgresServer
from komagane_devstack.stack import Stack, StackConfig
from tests.support.otlp import OtlpReceiver


@pytest.fixture(scope="session")
def postgres() -> Iterator[PostgresServer]:
    # Not under pytest's tmp dir: PostgreSQL runs as its own user, which cannot enter that.
    data_dir = Path(tempfile.mkdtemp(prefix="komagane-pg-"))
    server = PostgresServer(data_dir / "data", data_dir / "logs")
    (data_dir / "data").mkdir()
    shutil.chown(data_dir, "postgres") if _is_root() else None
    server.start()
    yield server
    server.stop()
    shutil.rmtree(data_dir, ignore_errors=True)


def _is_root() -> bool:
    return os.geteuid() == 0


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """Each database test runs on both the embedded default and PostgreSQL."""
    if request.param == "sqlite":
        return f"sqlite:///{tmp_path / 'test.db'}"
    server: PostgresServer = request.getfixturevalue("postgres")
    return server.create_database(f"t_{uuid.uuid4().hex[:12]}")


@pytest.fixture(scope="session")
def otlp() -> Iterator[OtlpReceiver]:
    receiver = OtlpReceiver()
    receiver.start()
    yield receiver
    receiver.stop()


@pytest.fixture(scope="session")
def stack(postgres: PostgresServer, otlp: OtlpReceiver, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    """The whole platform, services on PostgreSQL as in production, exporting traces to `otlp`."""
    telemetry_env = {
        "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": f"{otlp.endpoint}/v1/traces",
        "OTEL_EXPORTER_OTLP_METRICS_ENDPOINT": f"{otlp.endpoint}/v1/metrics",
        "OTEL_METRIC_EXPORT_INTERVAL": "500",
        "OTEL_BSP_SCHEDULE_DELAY": "100",
        "OUTBOX_POLL_SECONDS": "0.5",
        "OUTBOX_BACKOFF_MAX_SECONDS": "1",
        "PROFILES_LAPSE_CHECK_SECONDS": "1",
    }
    config = StackConfig(data_dir=tmp_path_factory.mktemp("stack"), database="postgresql", extra_env=telemetry_env)
    platform = Stack(config, postgres=postgres)
    try:
        platform.start()
    except BaseException:
        print(platform.log_tails())
        platform.stop()
        raise
    # The test process inspects topics and injects messages as the broker's operator (`admin`);
    # every Kafka client built with komagane_kit.kafka.client_options picks this login up.
    saved = {key: os.environ.get(key) for key in platform.kafka.admin.env()}
    os.environ.update(platform.kafka.admin.env())
    yield platform
    for key, value in saved.items():
        os.environ.pop(key, None) if value is None else os.environ.__setitem__(key, value)
    platform.stop()


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo[None]) -> Iterator[None]:
    """On a failing end-to-end test, show what the processes logged."""
    outcome: Any = yield
    report = outcome.get_result()
    if report.failed and "stack" in getattr(item, "fixturenames", ()):
        platform = item.funcargs.get("stack")  # type: ignore[attr-defined]
        if isinstance(platform, Stack):
            report.sections.append(("process logs", platform.log_tails()))
