"""Redis read-model keys, shared by the profiles processor (writer) and the gateway (reader)."""

from __future__ import annotations

PROFILE_KEY_PREFIX = "profile:v1:"


def profile_key(person_id: str) -> str:
    """Key of a person's profile: a JSON PersonProfileUpdated body; absent when none."""
    return PROFILE_KEY_PREFIX + person_id


HUB_MIX_KEY_PREFIX = "hubmix:v1:"


def hub_mix_key(hub_id: str) -> str:
    """Key of a hub's mix index: a JSON HubMixUpdated body."""
    return HUB_MIX_KEY_PREFIX + hub_id


LAPSE_ALERTS_KEY = "alerts:lapses:v1"
"""A Redis hash: person id → JSON BelongingLapsed, for the people currently lapsed."""


CITY_KPIS_KEY_PREFIX = "kpis:v1:"


def city_kpis_key(month: str) -> str:
    """Key of the city KPIs of a month (YYYY-MM): a JSON CityKpisUpdated body."""
    return CITY_KPIS_KEY_PREFIX + month
