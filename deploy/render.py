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


def _refuse_repeated_keys(node: Any) -> None:
    """PyYAML keeps the last of two equal keys in a mapping; the API server's parser refuses them."""
    if isinstance(node, yaml.MappingNode):
        keys = [key.value for key, _ in node.value]
        repeated = sorted({key for key in keys if keys.count(key) > 1})
        if repeated:
            raise RenderError(f"keys given twice in one mapping at line {node.start_mark.line + 1}: {', '.join(repeated)}")
        for _, value in node.value:
            _refuse_repeated_keys(value)
    elif isinstance(node, yaml.SequenceNode):
        for item in node.value:
            _refuse_repeated_keys(item)


def load_manifests(text: str) -> list[dict[str, Any]]:
    for document in yaml.compose_all(text):
        _refuse_repeated_keys(document)
    manifests: list[dict[str, Any]] = [doc for doc in yaml.safe_load_all(text) if doc]
    return manifests


def render(values_files: Sequence[Path] = (), *, release: str = "komagane", namespace: str = "komagane", sets: Sequence[str] = ()) -> list[dict[str, Any]]:
    command = [str(helm()), "template", release, str(CHART), "--namespace", namespace, "--kube-version", kubernetes_version()]
    for path in values_files:
        command += ["--values", str(path)]
    for assignment in sets:
        command += ["--set", assignment]
    result = subprocess.run(command, capture_output=True, text=True, timeout=120)
    if result.returncode != 0:
        raise RenderError(result.stderr.strip())
    return load_manifests(result.stdout)
