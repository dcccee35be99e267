"""Shared vocabulary: enums and small pure functions every service and partner uses alike."""

from __future__ import annotations

import re
from datetime import date
from enum import StrEnum


class Sensitivity(StrEnum):
    """S0 aggregate, S1 personal, S2 要配慮個人情報, S3 derived risk flags (docs/architecture.md, Consent and sensitivity)."""

    S0 = "S0"
    S1 = "S1"
    S2 = "S2"
    S3 = "S3"


class Controller(StrEnum):
    """The personal-information controller responsible for the event's data."""

    CITY = "city"
    JOCA = "joca"


class ResidencyStatus(StrEnum):
    RESIDENT = "RESIDENT"
    RELATIONSHIP = "RELATIONSHIP"  # 関係人口: involved with the town without living there
    TEMPORARY = "TEMPORARY"
    VISITOR = "VISITOR"


class AgeBand(StrEnum):
    """The bands of the hub mix index (docs/architecture.md, How a profile is computed); the only age other services ever see."""

    UNDER_18 = "0-17"
    ADULT_18_39 = "18-39"
    ADULT_40_64 = "40-64"
    SENIOR_65_74 = "65-74"
    SENIOR_75_PLUS = "75+"


def age_band(birth_year: int, on: date) -> AgeBand:
    """Band of a person born in `birth_year`, counted by calendar year on the date `on`."""
    age = on.year - birth_year
    if age < 18:
        return AgeBand.UNDER_18
    if age < 40:
        return AgeBand.ADULT_18_39
    if age < 65:
        return AgeBand.ADULT_40_64
    if age < 75:
        return AgeBand.SENIOR_65_74
    return AgeBand.SENIOR_75_PLUS


def age_decade(birth_year: int, on: date) -> str:
    """Age in 10-year bands ("0-9" … "80-89", "90+"), the coarsest age partner feeds may carry."""
    age = max(0, on.year - birth_year)
    if age >= 90:
        return "90+"
    low = age // 10 * 10
    return f"{low}-{low + 9}"


FIXED_PURPOSES = ("PROFILE", "HEALTH", "OUTREACH")
_PARTNER_PURPOSE = re.compile(r"^PARTNER:[a-z0-9][a-z0-9-]{1,62}$")
# Both, as one pattern (the API's path parameter declares it).
PURPOSE_PATTERN = r"^(PROFILE|HEALTH|OUTREACH|PARTNER:[a-z0-9][a-z0-9-]{1,62})$"


def is_valid_purpose(purpose: str) -> bool:
    """Consent purposes: PROFILE, HEALTH, OUTREACH, or PARTNER:<partner_id> (lower-case id)."""
    return purpose in FIXED_PURPOSES or bool(_PARTNER_PURPOSE.fullmatch(purpose))
