"""The gateway's merged OpenAPI document declares what the API answers (komagane_kit.openapi and
komagane_gateway.openapi), built here in-process from the services' own documents."""

from __future__ import annotations

import importlib
import json
from typing import Any

import pytest
from fastapi import APIRouter, FastAPI

from komagane_gateway.routes import SERVICES
from komagane_kit.errors import Problem
from komagane_kit.openapi import Scan, document_problems, raised_problems

METHODS = ("get", "put", "post", "patch", "delete")


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    from komagane_gateway.main import build_gateway
    from komagane_gateway.settings import GatewaySettings

    settings = GatewaySettings(data_dir=tmp_path_factory.mktemp("gateway"), internal_token_secret="s" * 48)
    gateway, _ = build_gateway(settings)
    gateway.state.upstream_openapi = {name: importlib.import_module(f"komagane_{name}.main").app.openapi() for name in SERVICES}
    gateway.state.upstreams = dict.fromkeys(SERVICES)
    built: dict[str, Any] = gateway.openapi()
    return built


def operations(document: dict[str, Any]) -> list[tuple[str, str, dict[str, Any]]]:
    return [(method, path, operation) for path, ops in document["paths"].items() for method, operation in ops.items() if method in METHODS]


def test_every_operation_with_an_id_in_its_path_declares_404(document: dict[str, Any]) -> None:
    missing = [f"{m} {p}" for m, p, op in operations(document) if "{" in p and "404" not in op["responses"]]
    assert missing == []
    assert "404" in document["paths"]["/v1/profiles/{person_id}"]["get"]["responses"]


def test_every_error_answer_is_a_problem(document: dict[str, Any]) -> None:
    wrong = []
    for method, path, operation in operations(document):
        for status, answer in operation["responses"].items():
            if int(status) >= 400 and answer.get("content", {}).get("application/problem+json", {}).get("schema") != {"$ref": "#/components/schemas/Problem"}:
                wrong.append(f"{method} {path} {status}")
    assert wrong == []
    assert "HTTPValidationError" not in document["components"]["schemas"]


def test_statuses_raised_by_a_route_or_what_it_calls_are_declared(document: dict[str, Any]) -> None:
    apply = document["paths"]["/v1/opportunities/{opportunity_id}/applications"]["post"]["responses"]
    assert "already-applied" in apply["409"]["description"] and "opportunity-closed" in apply["409"]["description"]
    assert "400" in document["paths"]["/v1/sessions"]["get"]["responses"]  # a cursor
    body = document["paths"]["/v1/hubs"]["post"]["responses"]
    assert {"400", "401", "403", "409", "413", "415", "422", "429", "503", "504"} <= set(body)
    public = document["paths"]["/asyncapi.json"]["get"]
    assert public["security"] == [] and "401" not in public["responses"]


def test_a_person_is_registered_with_the_people_services_typed_model(document: dict[str, Any]) -> None:
    body = document["paths"]["/v1/people"]["post"]["requestBody"]["content"]["application/json"]["schema"]
    assert body == {"$ref": "#/components/schemas/PersonCreate"}
    created = document["components"]["schemas"]["PersonCreate"]
    assert created["properties"]["display_name"]["maxLength"] == 200


def test_no_field_claims_an_rfc3339_time_it_does_not_carry(document: dict[str, Any]) -> None:
    assert '"format": "time"' not in json.dumps(document)
    slot = document["components"]["schemas"]["WeeklySlot"]["properties"]["start"]
    assert slot["type"] == "string" and slot["pattern"]


def test_operations_merge_one_by_one_so_a_service_route_beside_a_gateway_route_is_documented() -> None:
    from komagane_gateway.openapi import merge_service_document

    document: dict[str, Any] = {"paths": {"/v1/people/{person_id}": {"get": {"summary": "gateway"}}}, "components": {"schemas": {"A": {"type": "string"}}}}
    service = {
        "paths": {"/v1/people/{person_id}": {"get": {"summary": "service"}, "patch": {"summary": "correct", "x": {"$ref": "#/components/schemas/A"}}}},
        "components": {"schemas": {"A": {"type": "integer"}}},
    }
    merge_service_document(document, "people", service, lambda path: "people")
    operations = document["paths"]["/v1/people/{person_id}"]
    assert operations["get"]["summary"] == "gateway"
    assert operations["patch"]["x"] == {"$ref": "#/components/schemas/people_A"}  # a clashing name is renamed
    assert document["components"]["schemas"] == {"A": {"type": "string"}, "people_A": {"type": "integer"}}


def _helper(found: bool) -> None:
    if not found:
        raise Problem(409, "already-there", "…")


def test_a_new_route_is_covered_without_declaring_anything() -> None:
    router = APIRouter()

    @router.post("/v1/things/{thing_id}", status_code=201)
    def create(thing_id: str, body: dict[str, int]) -> dict[str, str]:
        _helper(bool(body))
        return {}

    app = FastAPI()
    app.include_router(router)
    document_problems(app, Scan(packages=("komagane_", __name__)))
    responses = app.openapi()["paths"]["/v1/things/{thing_id}"]["post"]["responses"]
    assert set(responses) == {"201", "400", "404", "409", "413", "415", "422"}
    assert "already-there" in responses["409"]["description"]
    assert raised_problems(create, packages=(__name__,)) == {409: {"already-there"}}


class _Answer:
    status_code = 200

    def json(self) -> dict[str, Any]:
        return {"paths": {"/v1/hubs": {"get": {"responses": {}}}}}


class _SlowToStart:
    def __init__(self) -> None:
        self.calls = 0

    async def fetch(self, path: str, timeout: float) -> _Answer:
        self.calls += 1
        if self.calls == 1:
            raise TimeoutError("no answer within 5 s")
        return _Answer()


async def test_a_service_slow_at_start_up_is_documented_once_it_answers() -> None:
    from komagane_gateway.openapi import complete_upstream_docs, fetch_upstream_docs, merged_openapi

    app = FastAPI()
    app.state.upstreams = {"exchange": _SlowToStart()}
    app.openapi = merged_openapi(app, lambda path: "exchange")  # type: ignore[method-assign]
    assert not await fetch_upstream_docs(app)
    assert "/v1/hubs" not in app.openapi()["paths"]
    await complete_upstream_docs(app, interval_seconds=0.01)
    assert "/v1/hubs" in app.openapi()["paths"]


class _Service:
    def send(self) -> None:
        raise Problem(503, "service-unavailable", "…")


def test_calls_to_a_service_client_are_followed_where_the_app_says_so() -> None:
    def endpoint() -> None:
        _Service().send()

    assert raised_problems(endpoint, packages=(__name__,)) == {}
    assert raised_problems(endpoint, packages=(__name__,), methods_of=(_Service,)) == {503: {"service-unavailable"}}


@pytest.mark.parametrize("end", [0, 36000.5, True, "11:00+09:00", "11:00:00.5", "11:00\n"])
def test_a_weekly_slot_takes_only_the_local_time_string_it_declares(end: object) -> None:
    from pydantic import ValidationError

    from komagane_jobs.models import WeeklySlot

    assert WeeklySlot.model_validate({"weekday": 0, "start": "10:00", "end": "11:00:00"}).end.hour == 11
    with pytest.raises(ValidationError):  # a number was read as seconds in UTC: an aware time, a 500 on comparing
        WeeklySlot.model_validate({"weekday": 0, "start": "10:00", "end": end})
