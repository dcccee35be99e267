"""The chart rendered once per session for each values file (helm runs offline, no cluster)."""

from __future__ import annotations

from typing import Any

import pytest

from deploy.render import render
from deploy.tools import VALUES_DIR

Objects = list[dict[str, Any]]


@pytest.fixture(scope="session")
def small() -> Objects:
    return render([VALUES_DIR / "small.yaml"])


@pytest.fixture(scope="session")
def large() -> Objects:
    return render([VALUES_DIR / "large.yaml"])


@pytest.fixture(scope="session", params=["small", "large"])
def rendered(request: pytest.FixtureRequest) -> Objects:
    objects: Objects = request.getfixturevalue(request.param)
    return objects


def of_kind(objects: Objects, kind: str) -> dict[str, dict[str, Any]]:
    return {obj["metadata"]["name"]: obj for obj in objects if obj["kind"] == kind}
