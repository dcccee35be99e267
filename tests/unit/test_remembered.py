"""Ids remembered from tables whose rows are never deleted: per database, and bounded."""

from __future__ import annotations

from sqlmodel import Session, create_engine

from komagane_kit.remembered import RememberedIds


def test_an_id_is_remembered_per_database_and_forgotten_past_the_limit() -> None:
    one, other = create_engine("sqlite://"), create_engine("sqlite://")
    remembered = RememberedIds(limit=3)
    with Session(one) as a, Session(other) as b:
        remembered.learn(a, "hub-1")
        assert remembered.known(a, "hub-1") and not remembered.known(b, "hub-1")
        for n in (2, 3):
            remembered.learn(a, f"hub-{n}")
        assert remembered.known(a, "hub-3")
        remembered.learn(a, "hub-4")  # the limit reached: the rest forgotten, to be learnt again
        assert remembered.known(a, "hub-4") and not remembered.known(a, "hub-1")
