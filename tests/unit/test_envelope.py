"""CloudEvents binary-mode envelope: round trip and rejection of what is not a valid event."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from komagane_contracts.envelope import CloudEvent, InvalidEvent
from komagane_contracts.events.people import ConsentGranted, PersonRegistered
from komagane_contracts.vocabulary import AgeBand, ResidencyStatus, age_band, is_valid_purpose

WHEN = datetime(2026, 4, 1, 9, 30, tzinfo=UTC)


def registered() -> PersonRegistered:
    return PersonRegistered(
        person_id="p-1",
        age_band=AgeBand.SENIOR_75_PLUS,
        residency_status=ResidencyStatus.RESIDENT,
        preferred_language="ja",
        lives_alone=True,
        registered_at=WHEN,
    )


def test_round_trip_keeps_attributes_and_body() -> None:
    event = CloudEvent.of(registered(), time=WHEN).with_trace("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01")
    headers = dict(event.headers())
    assert headers["ce_specversion"] == b"1.0"
    assert headers["ce_type"] == b"jp.komagane.people.person-registered.v1"
    assert headers["ce_subject"] == b"p-1"
    assert headers["ce_time"] == b"2026-04-01T09:30:00Z"
    assert headers["ce_sensitivity"] == b"S1"
    assert headers["ce_controller"] == b"city"
    assert event.key == b"p-1"

    parsed = CloudEvent.from_kafka(event.value(), event.headers())
    assert parsed.id == event.id
    assert parsed.time == WHEN
    assert parsed.traceparent == event.traceparent
    assert parsed.body() == registered()


@pytest.mark.parametrize(
    ("value", "drop", "message"),
    [
        (b"{not json", None, "not JSON"),
        (b"[1, 2]", None, "not a JSON object"),
        (b"{}", "ce_type", "missing CloudEvents headers: ce_type"),
        (None, None, "empty message value"),
    ],
)
def test_malformed_messages_are_rejected_with_a_reason(value: bytes | None, drop: str | None, message: str) -> None:
    headers = [(k, v) for k, v in CloudEvent.of(registered()).headers() if k != drop]
    with pytest.raises(InvalidEvent, match=message):
        CloudEvent.from_kafka(value, headers)


def test_body_of_unknown_type_or_invalid_data_is_rejected() -> None:
    event = CloudEvent.of(ConsentGranted(person_id="p-1", purpose="PROFILE", granted_at=WHEN))
    bad_body = CloudEvent.from_kafka(b'{"person_id": "p-1"}', event.headers())
    with pytest.raises(InvalidEvent, match=r"invalid jp\.komagane\.people\.consent-granted\.v1"):
        bad_body.body()
    unknown = [(k, b"jp.komagane.nothing.v1" if k == "ce_type" else v) for k, v in event.headers()]
    with pytest.raises(InvalidEvent, match="unknown event type"):
        CloudEvent.from_kafka(event.value(), unknown).body()


@pytest.mark.parametrize(
    ("birth_year", "band"),
    [(2010, AgeBand.UNDER_18), (2008, AgeBand.ADULT_18_39), (1986, AgeBand.ADULT_40_64), (1961, AgeBand.SENIOR_65_74), (1951, AgeBand.SENIOR_75_PLUS)],
)
def test_age_bands_follow_the_hub_mix_bands(birth_year: int, band: AgeBand) -> None:
    assert age_band(birth_year, WHEN.date()) is band


@pytest.mark.parametrize(
    ("purpose", "valid"),
    [
        ("PROFILE", True),
        ("HEALTH", True),
        ("OUTREACH", True),
        ("PARTNER:chamber-of-commerce", True),
        ("PARTNER:", False),
        ("profile", False),
        ("MARKETING", False),
    ],
)
def test_consent_purposes(purpose: str, valid: bool) -> None:
    assert is_valid_purpose(purpose) is valid
