"""Where the pinned chart tools are (deploy/scripts/install-tools.sh puts them there)."""

from __future__ import annotations

from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
CHART = ROOT / "deploy" / "helm" / "komagane"
VALUES_DIR = ROOT / "deploy" / "helm" / "values"
SCHEMAS_PACKAGE = ROOT / "deploy" / "schemas"
TOOLS = ROOT / ".tools"


def versions() -> dict[str, str]:
    """deploy/tools.env: NAME=value lines."""
    pairs = (line.split("=", 1) for line in (ROOT / "deploy" / "tools.env").read_text().splitlines() if line and not line.startswith("#"))
    return {name.strip(): value.strip() for name, value in pairs}


def helm() -> Path:
    return TOOLS / f"helm-{versions()['HELM_VERSION']}" / "helm"


def cnpg_crds() -> Path:
    return TOOLS / "crds" / f"cloudnative-pg-{versions()['CNPG_VERSION']}"


def kubernetes_version() -> str:
    return versions()["KUBERNETES_VERSION"]
