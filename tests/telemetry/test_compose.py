"""The compose deployment, checked by Docker Compose itself (no engine needed) and by our rules."""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

import pytest

from tests.telemetry.deployment import CORE, OVERLAY, ROOT, compose_binary, dotenv, resolved, run_compose

WAIT_CONDITIONS = {"service_healthy", "service_completed_successfully"}
PINNED_IMAGE = re.compile(r"^[a-z0-9./_-]+(:[A-Za-z0-9._-]+)?(@sha256:[0-9a-f]{64})?$")


def test_the_validator_is_the_real_docker_compose() -> None:
    version = subprocess.run([str(compose_binary()), "version"], capture_output=True, text=True, check=True).stdout
    assert version.startswith("Docker Compose version v2."), version


@pytest.mark.parametrize("files", [(CORE,), (CORE, OVERLAY)], ids=["core", "core+observability"])
def test_files_parse_merge_and_match_the_compose_specification(files: tuple[str, ...]) -> None:
    result = run_compose(*files, args=("--quiet",))
    assert result.returncode == 0, result.stderr
    assert result.stderr.strip() == "", result.stderr  # no warnings (unset variables, obsolete keys)


def test_every_service_directory_is_built_from_the_one_dockerfile_as_an_image_of_its_own() -> None:
    services = resolved(CORE, OVERLAY)["services"]
    directories = sorted(p.name for p in (ROOT / "services").iterdir() if p.is_dir() and not p.name.startswith("."))
    assert directories, "no services found"
    recipe = ROOT / "services" / "Dockerfile"
    text = recipe.read_text()
    # Non-root, a health check on the service's own port, and no per-service Dockerfile beside it.
    assert re.search(r"^USER 10001:10001$", text, re.MULTILINE) and "os.environ['PORT']" in text
    assert re.search(r"^HEALTHCHECK\s+", text, re.MULTILINE)
    assert not list((ROOT / "services").glob("*/Dockerfile")), "one Dockerfile for every service"
    ports: dict[str, int] = {}
    for name in directories:
        assert name in services, f"services/{name} has no compose service"
        build = services[name].get("build")
        assert build, f"{name} is not built from the repository"
        assert Path(build["context"]) / build["dockerfile"] == recipe, name
        assert build["args"]["SERVICE"] == name, name
        assert services[name]["image"] == f"komagane/{name}:dev", name
        module = build["args"].get("MODULE", f"komagane_{name}.main")
        assert (ROOT / "services" / name / module.split(".")[0]).is_dir(), module
        ports[name] = int(build["args"]["PORT"])
    assert len(set(ports.values())) == len(ports), f"two services share a port: {ports}"
    # The port each image listens on is the one its callers use.
    gateway = services["gateway"]["environment"]
    for name, port in ports.items():
        url = gateway.get(f"{name.upper()}_URL")
        if url:
            assert url == f"http://{name}:{port}", (name, url)
    assert services["console"]["environment"]["GATEWAY_URL"] == f"http://gateway:{ports['gateway']}"


def test_every_image_is_pinned_in_env_and_none_is_latest() -> None:
    raw = resolved(CORE, OVERLAY, interpolate=False)["services"]
    final = resolved(CORE, OVERLAY)["services"]
    env = dotenv()
    for name, service in raw.items():
        image = service.get("image", "")
        if image.startswith("komagane/"):
            # Our own images: built here, tagged from .env, never pulled.
            assert image.endswith(":${KOMAGANE_TAG:-dev}"), (name, image)
            assert "build" in service or service.get("pull_policy") == "never", (name, image)
        else:
            variable = re.fullmatch(r"\$\{([A-Z0-9_]+)(:\?[^}]*)?\}", image)
            assert variable, f"{name}: third-party image {image!r} must come from .env as ${{VAR:?…}}"
            assert variable.group(1) in env, f"{name}: {variable.group(1)} missing from .env"
        for arg, value in ((service.get("build") or {}).get("args") or {}).items():
            if arg.endswith("_IMAGE"):  # base images are pinned in .env; SERVICE, PORT, MODULE choose the service
                assert re.fullmatch(r"\$\{[A-Z0-9_]+(:\?[^}]*)?\}", str(value)), f"{name}: build arg {arg} must come from .env"
    for key, value in env.items():
        if key.endswith("_IMAGE"):
            assert PINNED_IMAGE.match(value) and ":" in value and not value.endswith(":latest"), f"{key}={value} is not pinned"
    for name, service in final.items():
        assert not str(service.get("image", "")).endswith(":latest"), name


def test_every_service_has_a_health_check_of_its_own_or_of_its_image() -> None:
    services = resolved(CORE, OVERLAY)["services"]
    one_shots = {name for name, s in services.items() if s.get("restart") == "no"}
    for name, service in services.items():
        check = service.get("healthcheck") or {}
        if check and not check.get("disable"):
            assert check.get("test"), name
            continue
        build = service.get("build")
        if build and "disable" not in check:
            dockerfile = (Path(build["context"]) / build["dockerfile"]).read_text()
            assert re.search(r"^HEALTHCHECK\s+", dockerfile, re.MULTILINE), f"{name}: neither compose nor its Dockerfile has a health check"
            continue
        # A one-shot job has no health: it finishes; whoever needs it waits for its success.
        assert name in one_shots, f"{name} has no health check"
        for other, spec in services.items():
            condition = (spec.get("depends_on") or {}).get(name, {}).get("condition")
            assert condition in (None, "service_completed_successfully"), f"{other} waits for one-shot {name} with {condition}"


def test_dependencies_wait_for_health_or_completion() -> None:
    services = resolved(CORE, OVERLAY)["services"]
    for name, service in services.items():
        for dependency, spec in (service.get("depends_on") or {}).items():
            assert dependency in services, f"{name} depends on unknown {dependency}"
            assert spec.get("condition") in WAIT_CONDITIONS, f"{name} → {dependency}: condition {spec.get('condition')!r}"


def test_memory_limits_bind_mounts_and_no_secrets_in_files() -> None:
    services = resolved(CORE, OVERLAY)["services"]
    raw = resolved(CORE, OVERLAY, interpolate=False)["services"]
    for name, service in services.items():
        assert service.get("deploy", {}).get("resources", {}).get("limits", {}).get("memory"), f"{name} has no memory limit"
        for volume in service.get("volumes") or []:
            if volume["type"] == "bind":
                assert Path(volume["source"]).exists(), f"{name}: bind source {volume['source']} missing"
        environment = raw[name].get("environment") or {}
        if isinstance(environment, list):  # merged files come back in list form
            environment = dict(item.split("=", 1) for item in environment)
        for key, value in environment.items():
            if key.endswith("_FILE") and str(value).startswith("/run/secrets/"):
                continue  # the path of a compose secret, not a secret
            if re.search(r"PASSWORD|SECRET|TOKEN", key) or ("://" in str(value) and "@" in str(value)):
                assert "${" in str(value), f"{name}: {key} must come from .env, not from the compose file"


def test_the_overlay_points_every_komagane_process_at_the_collector() -> None:
    services = resolved(CORE, OVERLAY)["services"]
    ours = sorted(p.name for p in (ROOT / "services").iterdir() if p.is_dir())
    for name in ours:
        environment = services[name]["environment"]
        assert environment["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4318", name
        assert services[name]["depends_on"]["otel-collector"]["condition"] == "service_healthy", name
    core = resolved(CORE)["services"]
    assert not any("OTEL_EXPORTER_OTLP_ENDPOINT" in (core[name].get("environment") or {}) for name in ours)
