"""A handful of Komagane residents and visitors, registered through the gateway like a frontend would."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx

# (name, birth year, residency, language, lives alone, consents)
DEMO_PEOPLE: list[tuple[str, int, str, str, bool, tuple[str, ...]]] = [
    ("駒ヶ根 花子", 1944, "RESIDENT", "ja", True, ("PROFILE", "HEALTH")),
    ("赤穂 一郎", 1951, "RESIDENT", "ja", False, ("PROFILE",)),
    ("宮田 さくら", 1987, "RESIDENT", "ja", False, ("PROFILE", "OUTREACH")),
    ("中沢 健太", 2009, "RESIDENT", "ja", False, ()),
    ("Ana Pereira", 1979, "RESIDENT", "pt-BR", False, ("PROFILE",)),
    ("Nguyen Van Minh", 1998, "TEMPORARY", "vi", True, ("PROFILE",)),
    ("Maria Santos", 1992, "RELATIONSHIP", "tl", False, ("PROFILE",)),
    ("東伊那 正", 1938, "RESIDENT", "ja", True, ("PROFILE", "HEALTH")),
    ("John Miller", 1985, "VISITOR", "en", False, ()),
    ("下平 由美", 1963, "RESIDENT", "ja", False, ("PROFILE",)),
    ("福岡 大輔", 1972, "RELATIONSHIP", "ja", False, ("PROFILE", "PARTNER:migration-council")),
    ("Li Wei", 2001, "TEMPORARY", "zh-Hans", True, ()),
]


def _client(gateway_url: str, token: str) -> httpx.Client:
    return httpx.Client(base_url=gateway_url, timeout=30, headers={"Authorization": f"Bearer {token}"})


def load_demo_people(gateway_url: str, token: str) -> list[str]:
    """Register the demo people and their consents (as `token`'s caller, staff or admin); returns their ids."""
    ids = []
    with _client(gateway_url, token) as client:
        for name, birth_year, residency, language, alone, consents in DEMO_PEOPLE:
            response = client.post(
                "/v1/people",
                json={"display_name": name, "birth_year": birth_year, "residency_status": residency, "preferred_language": language, "lives_alone": alone},
            )
            response.raise_for_status()
            person_id = response.json()["id"]
            for purpose in consents:
                client.put(f"/v1/people/{person_id}/consents/{purpose}").raise_for_status()
            ids.append(person_id)
    return ids


HUBS = [
    {
        "name_ja": "GOTCHA!WELLNESS 駒ケ根",
        "name_en": "GOTCHA!WELLNESS Komagane",
        "kind": "WELLNESS_HUB",
        "area": "赤穂",
        "capabilities": ["gym", "studio", "kitchen"],
    },
    {
        "name_ja": "ぱとな（市民活動支援センター）",
        "name_en": "Patona civic activity centre",
        "kind": "CIVIC_CENTRE",
        "area": "赤穂",
        "capabilities": ["hall", "meeting room"],
    },
    {"name_ja": "JICA駒ヶ根青年海外協力隊訓練所", "name_en": "JICA Komagane", "kind": "JICA", "area": "赤穂", "capabilities": ["hall"]},
    {"name_ja": "東伊那公民館", "name_en": "Higashi-Ina community hall", "kind": "COMMUNITY_HALL", "area": "東伊那", "capabilities": ["hall", "kitchen"]},
]
# (hub index, title, category, languages, capacity)
ACTIVITIES = [
    (0, "いきいき百歳体操", "KAYOINOBA", ["ja"], 20),
    (1, "ごちゃまぜ子育てサロン", "CHILDCARE", ["ja", "en"], 15),
    (2, "大使村 国際交流カフェ", "INTERNATIONAL", ["ja", "en", "pt-BR"], 30),
    (3, "東伊那 お茶のみ会", "KAYOINOBA", ["ja"], 12),
]


def _post(client: httpx.Client, path: str, body: dict[str, Any]) -> dict[str, Any]:
    """POST, waiting while the service's people replica catches up with fresh registrations."""
    deadline = time.monotonic() + 30
    while True:
        response = client.post(path, json=body)
        if response.status_code == 422 and response.json().get("type", "").endswith("/unknown-person") and time.monotonic() < deadline:
            time.sleep(0.2)
            continue
        response.raise_for_status()
        return dict(response.json())


def load_demo_town(gateway_url: str, token: str, people: list[str]) -> None:
    """Hubs modelled on the seed, weekly sessions next week, reservations and a 通いの場 group."""
    with _client(gateway_url, token) as client:
        hubs = [_post(client, "/v1/hubs", hub)["id"] for hub in HUBS]
        start = (datetime.now(UTC) + timedelta(days=1)).replace(minute=0, second=0, microsecond=0)
        for n, (hub, title, category, languages, capacity) in enumerate(ACTIVITIES):
            activity = _post(
                client,
                "/v1/activities",
                {"hub_id": hubs[hub], "title": title, "category": category, "organiser_kind": "ORGANISATION", "organiser_name": "JOCA", "languages": languages},
            )
            session_start = start + timedelta(days=n)
            session = _post(
                client,
                f"/v1/activities/{activity['id']}/sessions",
                {"starts_at": session_start.isoformat(), "ends_at": (session_start + timedelta(hours=2)).isoformat(), "capacity": capacity},
            )
            for person_id in people[n::2]:
                _post(client, f"/v1/sessions/{session['id']}/reservations", {"person_id": person_id})
        group = _post(client, "/v1/groups", {"name": "東伊那 通いの場", "kind": "KAYOINOBA", "hub_id": hubs[3], "is_kayoinoba": True})
        for role, person_id in zip(["LEADER", None, None], people[:3], strict=True):
            _post(client, f"/v1/groups/{group['id']}/members", {"person_id": person_id, "officer_role": role})
        _post(client, "/v1/volunteer-shifts", {"person_id": people[1], "hub_id": hubs[0], "worked_on": datetime.now(UTC).date().isoformat(), "hours": 3})
