"""The access matrix is one table: the docs are generated from it, and every service route is in it."""

from __future__ import annotations

import importlib
from pathlib import Path

import pytest

from komagane_gateway.access import ACCESS, matrix_markdown, route_class
from komagane_gateway.tokens import ROLES

REPO = Path(__file__).resolve().parents[2]
PILLARS = ("people", "exchange", "jobs", "health", "housing")


def test_the_docs_are_generated_from_the_table() -> None:
    assert (REPO / "docs" / "access-matrix.md").read_text() == matrix_markdown(), "run: python -m komagane_gateway.access > docs/access-matrix.md"


@pytest.mark.parametrize("rc", ACCESS, ids=lambda rc: rc.name)
def test_each_class_example_belongs_to_it(rc: object) -> None:
    method, path = rc.example  # type: ignore[attr-defined]
    assert route_class(method, path.replace("{person}", "p-1"))[0] is rc


def test_admin_may_call_everything_and_partners_only_their_own_contract_and_data() -> None:
    assert all(rc.allows("admin") for rc in ACCESS)
    assert [rc.name for rc in ACCESS if rc.allows("partner")] == ["contracts", "partner-contract", "partner-own"]
    assert all(rc.roles <= set(ROLES) for rc in ACCESS)


@pytest.mark.parametrize("service", PILLARS)
def test_every_service_route_has_a_class_of_its_own(service: str) -> None:
    """A route only admin can reach (`unlisted`) is a route someone forgot to put in the table."""
    document = importlib.import_module(f"komagane_{service}.main").app.openapi()
    forgotten = []
    for path, operations in document["paths"].items():
        if not path.startswith("/v1/"):
            continue
        for method in operations:
            rc, _ = route_class(method.upper(), path)
            if rc.name == "unlisted":
                forgotten.append(f"{method.upper()} {path}")
    assert forgotten == []
