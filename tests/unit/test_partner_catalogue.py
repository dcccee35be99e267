"""What partner feeds may carry: the catalogue derived from the contract, and the pseudonyms."""

from __future__ import annotations

import pytest
from komagane_partners.catalogue import CATALOGUE, HUB_FIELD, NEVER
from komagane_partners.pseudonyms import Pseudonymiser

from komagane_contracts.registry import ALL_EVENTS
from komagane_contracts.topics import HEALTH_INTERNAL, topic_for
from komagane_contracts.vocabulary import Sensitivity


def test_no_identity_free_text_or_internal_id_is_ever_shareable() -> None:
    for shareable in CATALOGUE.values():
        for name in shareable.fields:
            assert name not in NEVER and not name.endswith("_id") and not name.endswith("_ids"), (shareable.event_type, name)
        assert "reason" not in shareable.fields or shareable.model.model_fields["reason"].annotation is not str


def test_only_s0_and_s1_types_off_internal_topics_are_offered() -> None:
    for model in ALL_EVENTS:
        offered = model.event_type in CATALOGUE
        if model.sensitivity in (Sensitivity.S2, Sensitivity.S3) or topic_for(model) == HEALTH_INTERNAL:
            assert not offered, model.event_type
    assert "jp.komagane.people.consent-granted.v1" not in CATALOGUE
    assert "jp.komagane.profiles.belonging-lapsed.v1" not in CATALOGUE
    visit = CATALOGUE["jp.komagane.exchange.hub-visited.v1"]
    assert visit.person_level and visit.fields == {HUB_FIELD: "hub", "visited_at": "date"}


def test_pseudonyms_differ_per_partner_and_key_and_are_stable() -> None:
    pseudonyms = Pseudonymiser("m" * 48)
    person = "0b7c1f1e-3c0a-4f57-9d6e-5a8c2f1d9e01"
    chamber = pseudonyms.pseudonym("chamber", "k1", person)
    assert chamber == Pseudonymiser("m" * 48).pseudonym("chamber", "k1", person)
    assert chamber != pseudonyms.pseudonym("college", "k1", person)
    assert chamber != pseudonyms.pseudonym("chamber", "k2", person)
    assert len(chamber) == 64 and person not in chamber
    assert pseudonyms.message_id("chamber", "k1", "visits", "e-1") != pseudonyms.message_id("college", "k1", "visits", "e-1")
    assert pseudonyms.message_id("chamber", "k1", "visits", "e-1") != pseudonyms.message_id("chamber", "k1", "shops", "e-1")


def test_a_short_master_secret_is_refused() -> None:
    with pytest.raises(ValueError):
        Pseudonymiser("too short")
