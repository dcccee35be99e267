"""Renders the chart with the pinned helm, offline, into a list of Kubernetes objects."""

from __future__ import annotations

import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import yaml

from deploy.tools import CHART, helm, kubernetes_version


class RenderError(Exception):
    """helm refused to render (a template's `fail`, or a broken template): its message."""


def render(values_files: Sequence[Path] = (), *, release: str = "komagane", namespace: str = "komagane", sets: Sequence[str] = ()) -> list[dict[str, Any]]:
    command = [str(helm()), "template", release, str(CHART), "--namespace", namespace, "--kube-version", kubernetes_version()]
    for path in values_files:
        command += ["--values", str(path)]
    for assignment in sets:
        command += ["--set", assignment]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RenderError(result.stderr.strip())
    return [doc for doc in yaml.safe_load_all(result.stdout) if doc]
