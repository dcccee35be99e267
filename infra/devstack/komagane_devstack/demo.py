"""A handful of Komagane residents and visitors, registered through the gateway like a frontend would."""

from __future__ import annotations

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


def load_demo_people(gateway_url: str) -> list[str]:
    """Register the demo people and their consents; returns their ids."""
    ids = []
    with httpx.Client(base_url=gateway_url, timeout=30) as client:
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
