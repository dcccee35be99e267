"""The hub staff search of the people service (SQLite and PostgreSQL): kana, member numbers, the
hubs that know a person, the audit, and bad input answered as problem+json."""

from __future__ import annotations

import json
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from fastapi.testclient import TestClient
from sqlmodel import Session, col, select

from komagane_contracts.envelope import CloudEvent
from komagane_contracts.events.exchange import HubVisited, ParticipantAttended
from komagane_contracts.vocabulary import Sensitivity
from komagane_kit.db import make_engine
from komagane_kit.outbox import OutboxMessage
from komagane_people.hub_ties import PersonHub, ties_from_exchange
from komagane_people.main import MIGRATIONS, build_app
from komagane_people.rights_log import RightsRequest
from komagane_people.search import PeopleSearch
from komagane_people.settings import PeopleSettings
from tests.support.internal import INTERNAL_SECRET, as_gateway

WELLNESS, PATONA = "hub-wellness", "hub-patona"
STAFF: dict[str, Any] = {"subject": "staff-1", "roles": ("staff",), "hub_id": WELLNESS}


def staff() -> dict[str, str]:
    """Headers of hub staff, minted when used: an internal token lives a minute."""
    return as_gateway(**STAFF)


def person(name: str, kana: str | None, **extra: object) -> dict[str, object]:
    return {"display_name": name, "name_kana": kana, "birth_year": 1950, "residency_status": "RESIDENT", "preferred_language": "ja", **extra}


@pytest.fixture
def client(db_url: str) -> Iterator[TestClient]:
    settings = PeopleSettings(database_url=db_url, kafka_bootstrap_servers="127.0.0.1:9", outbox_backoff_max_seconds=60, internal_token_secret=INTERNAL_SECRET)
    with TestClient(build_app(settings)) as test_client:
        yield test_client


def register(client: TestClient, body: dict[str, object], hub: str | None) -> dict[str, object]:
    headers = as_gateway(subject="registrar", roles=("staff",), hub_id=hub) if hub else as_gateway()
    response = client.post("/v1/people", json=body, headers=headers)
    assert response.status_code == 201, response.text
    answer: dict[str, object] = response.json()
    return answer


def search(client: TestClient, q: str, headers: dict[str, str] | None = None, **params: object) -> list[dict[str, object]]:
    response = client.get("/v1/people/search", params={"q": q, **params}, headers=headers or staff())
    assert response.status_code == 200, response.text
    items: list[dict[str, object]] = response.json()["items"]
    return items


def db(client: TestClient) -> Session:
    return Session(client.app.state.engine)  # type: ignore[attr-defined]


def test_kana_in_any_script_and_width_finds_the_people_of_my_hub_only(client: TestClient) -> None:
    yamada = register(client, person("山田 太郎", "やまだ たろう"), WELLNESS)
    yamashita = register(client, person("山下 花子", "ヤマシタ ハナコ"), WELLNESS)
    register(client, person("山田 次郎", "ヤマダ ジロウ"), PATONA)  # known at another hub only
    register(client, person("Ana Pereira", None), WELLNESS)

    for query in ("ヤマダ", "やまだ", "ﾔﾏﾀﾞ", "やまだ た", "山田"):
        assert [p["id"] for p in search(client, query)] == [yamada["id"]], query
    # Prefix matches first, then contained ones; the answer has no contact and no birth year.
    found = search(client, "ヤマ")
    assert [p["display_name"] for p in found] == ["山下 花子", "山田 太郎"]  # by kana: ヤマシタ < ヤマダ
    assert set(found[0]) == {"id", "display_name", "name_kana", "member_number", "age_band", "preferred_language"}
    assert [p["id"] for p in search(client, "ハナコ")] == [yamashita["id"]]
    assert [p["display_name"] for p in search(client, "ＰＥＲＥＩＲＡ")] == ["Ana Pereira"]  # full-width Latin, any case
    # The member number on the card, typed with full-width digits too.
    number = yamashita["member_number"]
    assert isinstance(number, int)
    assert [p["id"] for p in search(client, str(number).translate(str.maketrans("0123456789", "０１２３４５６７８９")))] == [yamashita["id"]]
    # Staff of both hubs (space-separated claim) find both Yamadas; admin searches everyone.
    both = as_gateway(subject="staff-2", roles=("staff",), hub_id=f"{WELLNESS} {PATONA}")
    assert len(search(client, "やまだ", both)) == 2
    assert len(search(client, "やまだ", both, hub_id=PATONA)) == 1
    assert len(search(client, "やまだ", as_gateway())) == 2


def test_member_numbers_are_given_in_order_at_registration_and_never_reused(client: TestClient) -> None:
    first = register(client, person("駒ヶ根 一郎", "コマガネ イチロウ"), WELLNESS)
    second = register(client, person("駒ヶ根 二郎", None), None)
    assert (first["member_number"], second["member_number"]) == (1, 2)
    assert client.delete(f"/v1/people/{second['id']}", headers=as_gateway()).status_code == 200
    third = register(client, person("駒ヶ根 三郎", None), None)
    assert third["member_number"] == 3
    assert client.get(f"/v1/people/{first['id']}", headers=as_gateway()).json()["member_number"] == 1


def test_a_kana_correction_is_found_at_once_logged_and_publishes_nothing(client: TestClient) -> None:
    hanako = register(client, person("駒ヶ根 花子", None), WELLNESS)
    assert search(client, "はなこ") == []
    events_before = len(db(client).exec(select(OutboxMessage)).all())
    headers = {**staff(), "X-Access-Reason": "reading added"}
    corrected = client.patch(f"/v1/people/{hanako['id']}", json={"name_kana": "コマガネ ハナコ"}, headers=headers)
    assert corrected.status_code == 200 and corrected.json()["name_kana"] == "コマガネ ハナコ"
    assert [p["id"] for p in search(client, "はなこ")] == [hanako["id"]]
    with db(client) as session:
        assert len(session.exec(select(OutboxMessage)).all()) == events_before  # the kana is never on Kafka
        [entry] = session.exec(select(RightsRequest).where(RightsRequest.kind == "CORRECTION")).all()
        assert entry.detail == "changed: name_kana"
    # null removes it; not kana is refused and changes nothing.
    refused = client.patch(f"/v1/people/{hanako['id']}", json={"name_kana": "Hanako"}, headers=headers)
    assert refused.status_code == 422 and refused.headers["content-type"] == "application/problem+json"
    assert client.get(f"/v1/people/{hanako['id']}", headers=as_gateway()).json()["name_kana"] == "コマガネ ハナコ"
    assert client.patch(f"/v1/people/{hanako['id']}", json={"name_kana": None}, headers=headers).json()["name_kana"] is None
    assert search(client, "はなこ") == []


def test_every_search_is_audited_and_the_found_person_sees_it_in_their_export(client: TestClient) -> None:
    yamada = register(client, person("山田 太郎", "ヤマダ タロウ"), WELLNESS)
    search(client, "やまだ", {**staff(), "X-Access-Reason": "check-in%20desk"})
    search(client, "だれでもない")
    with db(client) as session:
        rows = session.exec(select(PeopleSearch).order_by(col(PeopleSearch.id))).all()
    assert [(r.actor, r.hubs, r.query, r.found, r.reason) for r in rows] == [
        ("staff-1", WELLNESS, "ヤマダ", 1, "check-in desk"),
        ("staff-1", WELLNESS, "ダレデモナイ", 0, None),
    ]
    export = client.get(f"/internal/v1/people/{yamada['id']}/held", headers=as_gateway(subject=str(yamada["id"]), roles=("resident",))).json()
    held = json.dumps(export, ensure_ascii=False)
    assert '"kind": "SEARCH"' in held and "staff-1" in held and "found by a staff search at hub-wellness" in held
    assert '"hub_id": "hub-wellness"' in held and '"how": "REGISTERED"' in held


def test_taking_part_at_a_hub_makes_the_person_known_there_but_an_s2_event_does_not(client: TestClient) -> None:
    walker = register(client, person("北原 清", "キタハラ キヨシ"), None)  # registered by no hub
    assert search(client, "きたはら") == []
    at = datetime.now(UTC)
    visit = CloudEvent.of(HubVisited(person_id=str(walker["id"]), visit_id="v-1", hub_id=PATONA, visited_at=at))
    support = CloudEvent.of(
        ParticipantAttended(
            person_id=str(walker["id"]), attendance_id="a-1", session_id="s-1", activity_id="act-1", hub_id=WELLNESS,
            category="HEALTH_PROGRAM", is_kayoinoba=False, mode="RECEIVE_SUPPORT", attended_at=at,
        ),
        sensitivity=Sensitivity.S2,
    )  # fmt: skip
    with db(client) as session:
        ties_from_exchange(visit, session)
        ties_from_exchange(support, session)
        ties_from_exchange(CloudEvent.of(HubVisited(person_id="nobody-here", visit_id="v-2", hub_id=WELLNESS, visited_at=at)), session)
        session.commit()
        assert [(t.person_id, t.hub_id, t.how) for t in session.exec(select(PersonHub)).all()] == [(walker["id"], PATONA, "TOOK_PART")]
        first = session.exec(select(PersonHub)).one().since
        later = CloudEvent.of(HubVisited(person_id=str(walker["id"]), visit_id="v-3", hub_id=PATONA, visited_at=at + timedelta(days=1)))
        ties_from_exchange(later, session)  # a tie already there is kept as it was
        session.commit()
        assert [(t.hub_id, t.since) for t in session.exec(select(PersonHub)).all()] == [(PATONA, first)]
    assert search(client, "きたはら") == []  # wellness does not know them (the S2 attendance is ignored)
    patona_staff = as_gateway(subject="staff-p", roles=("staff",), hub_id=PATONA)
    assert [p["id"] for p in search(client, "きたはら", patona_staff)] == [walker["id"]]


@pytest.mark.parametrize(
    ("params", "identity", "status", "kind"),
    [
        ({"q": ""}, STAFF, 422, "validation-error"),
        ({"q": "   "}, STAFF, 422, "validation-error"),
        ({"q": "・"}, STAFF, 422, "validation-error"),
        ({"q": "x" * 101}, STAFF, 422, "validation-error"),
        ({"q": "やまだ", "limit": "0"}, STAFF, 422, "validation-error"),
        ({"q": "やまだ", "limit": "many"}, STAFF, 422, "validation-error"),
        ({"q": "a\x00b"}, STAFF, 422, "validation-error"),
        ({}, STAFF, 422, "validation-error"),
        ({"q": "やまだ", "hub_id": PATONA}, STAFF, 403, "wrong-hub"),
        ({"q": "やまだ"}, {"subject": "staff-x", "roles": ("staff",)}, 403, "wrong-hub"),
        ({"q": "やまだ"}, {"subject": "someone", "roles": ("resident",)}, 403, "forbidden"),
        ({"q": "やまだ"}, {"subject": "care-1", "roles": ("care",), "hub_id": WELLNESS}, 403, "forbidden"),
    ],
)
def test_bad_searches_get_a_problem_and_leave_no_audit_row(
    client: TestClient, params: dict[str, str], identity: dict[str, Any], status: int, kind: str
) -> None:
    register(client, person("山田 太郎", "ヤマダ タロウ"), WELLNESS)
    response = client.get("/v1/people/search", params=params, headers=as_gateway(**identity))
    assert response.status_code == status, response.text
    assert response.headers["content-type"] == "application/problem+json"
    assert response.json()["type"].rstrip("/").rsplit("/", 1)[-1] == kind
    with db(client) as session:
        assert session.exec(select(PeopleSearch)).all() == []
        assert session.exec(select(RightsRequest).where(RightsRequest.kind == "SEARCH")).all() == []


def test_the_migration_gives_existing_people_numbers_in_registration_order(db_url: str) -> None:
    engine = make_engine(db_url)
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS))
    cfg.set_main_option("path_separator", "os")
    with engine.begin() as connection:
        cfg.attributes["connection"] = connection
        command.upgrade(cfg, "0004")
        for i, (person_id, name) in enumerate([("p-b", "山田 太郎"), ("p-a", "Ana Pereira")]):
            connection.execute(
                sa.text(
                    "INSERT INTO person (id, display_name, birth_year, residency_status, preferred_language, lives_alone, created_at, updated_at)"
                    " VALUES (:id, :name, 1950, 'RESIDENT', 'ja', false, :at, :at)"
                ),
                {"id": person_id, "name": name, "at": datetime(2026, 1, 1 + i)},
            )
        command.upgrade(cfg, "head")
        rows = connection.execute(sa.text("SELECT id, member_number, name_key FROM person ORDER BY member_number")).all()
        assert [tuple(r) for r in rows] == [("p-b", 1, "山田太郎"), ("p-a", 2, "anapereira")]
        assert connection.execute(sa.text("SELECT last FROM member_counter")).scalar_one() == 2
