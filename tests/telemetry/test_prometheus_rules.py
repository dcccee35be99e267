"""The alert rules as Prometheus itself reads them: `promtool` unit tests and config checks.

One copy of the rules (infra/prometheus/rules) serves the compose deployment and `make up`;
every alert has a unit test that fires it and one that keeps it quiet, and a runbook entry.
"""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import yaml

from komagane_devstack.observe import Observability
from tests.telemetry.deployment import PROMETHEUS_CONFIG, ROOT, alert_rules

RULE_TESTS = ROOT / "infra/prometheus/tests/komagane.test.yml"
RUNBOOK = ROOT / "docs/operations.md"


def promtool(*args: str) -> subprocess.CompletedProcess[str]:
    binary = shutil.which("promtool")
    assert binary, "promtool not found: make deps installs Debian's prometheus package"
    return subprocess.run([binary, *args], capture_output=True, text=True, timeout=120, check=False)


def test_promtool_unit_tests_of_the_alert_rules_pass() -> None:
    result = promtool("test", "rules", str(RULE_TESTS))
    assert result.returncode == 0, result.stdout + result.stderr
    assert "SUCCESS" in result.stdout


def test_every_alert_rule_has_a_firing_and_a_quiet_unit_test() -> None:
    cases = [case for test in yaml.safe_load(RULE_TESTS.read_text())["tests"] for case in test["alert_rule_test"]]
    for rule in alert_rules():
        mine = [case for case in cases if case["alertname"] == rule["alert"]]
        assert any(case["exp_alerts"] for case in mine), f"{rule['alert']}: no test where it fires"
        assert any(not case["exp_alerts"] for case in mine), f"{rule['alert']}: no test where it stays quiet"


def test_every_alert_rule_has_a_runbook_entry() -> None:
    headings = {line.lstrip("#").strip() for line in RUNBOOK.read_text().splitlines() if line.startswith("### ")}
    for rule in alert_rules():
        assert rule["alert"] in headings, f"docs/operations.md has no '### {rule['alert']}' section"


def test_compose_prometheus_config_is_valid() -> None:
    result = promtool("check", "config", "--syntax-only", str(PROMETHEUS_CONFIG))
    assert result.returncode == 0, result.stdout + result.stderr


def test_local_prometheus_config_is_valid_and_loads_the_same_rule_files(tmp_path: Path) -> None:
    observe = Observability(tmp_path, tmp_path / "logs")
    observe.service_env("exchange")
    observe.service_env("profiles-2")
    config_path = observe.write_config({"kafka": 9308, "redis": 9121})
    result = promtool("check", "config", str(config_path))
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"SUCCESS: {len(alert_rules())} rules found" in result.stdout
    config = yaml.safe_load(config_path.read_text())
    assert config["rule_files"] == [str(ROOT / "infra/prometheus/rules/*.yml")]
    services = {s["labels"]["process"]: s["labels"]["service_name"] for job in config["scrape_configs"] for s in job["static_configs"] if "labels" in s}
    assert services == {"exchange": "exchange", "profiles-2": "profiles"}
