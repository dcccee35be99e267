"""Published schemas: up to date, and only additive evolution passes the compatibility check."""

from __future__ import annotations

import copy
import json
from pathlib import Path
from typing import Any

from komagane_contracts.schemas import ASYNCAPI_FILE, PUBLISHED_DIR, asyncapi_document, check, incompatibilities, write
from komagane_contracts.topics import TOPICS


def test_published_schemas_match_the_models() -> None:
    assert check() == [], "run `make schemas` and commit libs/contracts/komagane_contracts/published"


def _schema(name: str) -> dict[str, Any]:
    schema: dict[str, Any] = json.loads((PUBLISHED_DIR / name).read_text())
    return schema


def test_adding_an_optional_field_is_compatible() -> None:
    old = _schema("jp.komagane.people.person-registered.v1.json")
    new = copy.deepcopy(old)
    new["properties"]["nickname"] = {"type": "string"}
    assert incompatibilities(old, new) == []


def test_removing_retyping_or_requiring_a_field_is_not() -> None:
    old = _schema("jp.komagane.people.person-registered.v1.json")
    removed = copy.deepcopy(old)
    del removed["properties"]["lives_alone"]
    retyped = copy.deepcopy(old)
    retyped["properties"]["lives_alone"] = {"type": "string"}
    required = copy.deepcopy(old)
    required["properties"]["nickname"] = {"type": "string"}
    required["required"].append("nickname")
    assert incompatibilities(old, removed) == ["lives_alone: removed"]
    assert incompatibilities(old, retyped) == ["lives_alone: type changed"]
    assert incompatibilities(old, required) == ["nickname: newly required"]


def test_check_reports_an_incompatible_published_schema(tmp_path: Path) -> None:
    write(tmp_path)
    target = tmp_path / "jp.komagane.people.consent-granted.v1.json"
    doctored = json.loads(target.read_text())
    doctored["properties"]["witness"] = {"type": "string"}  # a field the model no longer has
    target.write_text(json.dumps(doctored))
    assert "jp.komagane.people.consent-granted.v1.json: witness: removed" in check(tmp_path)


def test_asyncapi_lists_every_registered_topic() -> None:
    document = asyncapi_document()
    assert document["asyncapi"] == "3.0.0"
    addresses = {channel["address"] for channel in document["channels"].values()}
    assert addresses == {spec.name for spec in TOPICS if not spec.internal}
    assert _schema(ASYNCAPI_FILE) == json.loads(json.dumps(document, sort_keys=True))


def test_nested_models_evolve_additively_too() -> None:
    old = _schema("jp.komagane.profiles.person-profile-updated.v1.json")
    added = copy.deepcopy(old)
    added["$defs"]["Role"]["properties"]["mentor_of"] = {"type": "integer"}
    assert incompatibilities(old, added) == []
    removed = copy.deepcopy(old)
    del removed["$defs"]["Role"]["properties"]["reciprocity_90d"]
    assert incompatibilities(old, removed) == ["role.reciprocity_90d: removed"]
