"""Matching (参加支援) on a fixed fixture: the ranking, every score and the reasons staff read."""

from __future__ import annotations

from komagane_jobs.areas import hops
from komagane_jobs.matching import Offer, Seeker, Slot, rank, score
from komagane_jobs.skills import normalise_tags

MON_MORNING = Slot(0, 9 * 60, 12 * 60)
WED_MORNING = Slot(2, 9 * 60, 12 * 60)

SEEKER = Seeker(
    skills=frozenset({"cooking", "sales"}),
    languages=frozenset({"ja", "pt-BR"}),
    # Overlapping declarations count once: Monday 9–13 is 4 hours.
    availability=(MON_MORNING, Slot(0, 11 * 60, 13 * 60)),
    needs=frozenset({"WHEELCHAIR_ACCESS", "QUIET_ROOM"}),
    area="赤穂",
)


def offer(opportunity_id: str, **changes: object) -> Offer:
    base: dict[str, object] = {
        "opportunity_id": opportunity_id,
        "skills": ("cooking", "sales"),
        "slots": (MON_MORNING,),
        "min_weekly_hours": 3.0,
        "accommodations": frozenset({"WHEELCHAIR_ACCESS", "QUIET_ROOM"}),
        "languages": ("ja",),
        "area": "赤穂",
    }
    return Offer(**(base | changes))  # type: ignore[arg-type]


FIXTURE = [
    offer("cafe-hall"),
    offer("farm", skills=("farming", "driving"), area="中沢", accommodations=frozenset()),
    offer("shop", skills=("sales", "it"), slots=(MON_MORNING, WED_MORNING), min_weekly_hours=6.0, area="赤穂東"),
    offer("jica", languages=("en",), accommodations=frozenset({"INTERPRETER", "QUIET_ROOM"}), area="宮田"),
    offer("anywhere", skills=(), slots=(), min_weekly_hours=0.0, languages=(), area=None),
    offer("twin-b", area="東伊那"),  # ties with twin-a: id order decides
    offer("twin-a", area="赤穂東"),
]


def test_ranking_and_scores_on_the_fixture() -> None:
    ranked = rank(SEEKER, FIXTURE)
    assert [(m.opportunity_id, m.score) for m in ranked] == [
        ("cafe-hall", 100.0),
        ("twin-a", 96.0),
        ("twin-b", 96.0),
        ("anywhere", 95.0),
        ("jica", 81.0),
        ("shop", 66.0),
        ("farm", 38.0),
    ]


def test_the_ranking_does_not_depend_on_input_order() -> None:
    assert rank(SEEKER, list(reversed(FIXTURE))) == rank(SEEKER, FIXTURE)


def test_every_component_says_why() -> None:
    reasons = {m.opportunity_id: {c.name: c.reason for c in m.components} for m in rank(SEEKER, FIXTURE)}
    assert reasons["shop"] == {
        "skills": "has 1 of 2 wanted skills: sales; not: it",
        "availability": "available 3.0 h of the 6.0 h offered each week (minimum 6.0 h)",
        "accessibility": "meets 2 of 2 accessibility needs: quiet room, wheelchair access",
        "language": "works in ja, which the person speaks",
        "distance": "赤穂東 is 1 area border from 赤穂",
    }
    assert reasons["jica"]["accessibility"] == "meets 1 of 2 accessibility needs: quiet room; missing: wheelchair access"
    assert reasons["jica"]["language"] == "works in en; an interpreter is offered"
    assert reasons["farm"]["skills"] == "has 0 of 2 wanted skills; not: driving, farming"
    assert reasons["farm"]["distance"] == "中沢 is 2 area borders from 赤穂"
    assert reasons["anywhere"] == {
        "skills": "no particular skills required",
        "availability": "hours arranged individually",
        "accessibility": "meets 2 of 2 accessibility needs: quiet room, wheelchair access",
        "language": "no working language given",
        "distance": "area not known on one side",
    }


def test_component_scores_and_weights() -> None:
    shop = score(SEEKER, FIXTURE[2])
    assert [(c.name, c.score, c.weight) for c in shop.components] == [
        ("skills", 0.5, 0.35),
        ("availability", 0.5, 0.25),
        ("accessibility", 1.0, 0.2),
        ("language", 1.0, 0.1),
        ("distance", 0.6, 0.1),
    ]
    assert sum(c.weight for c in shop.components) == 1.0


def test_edge_cases_score_zero_rather_than_fail() -> None:
    nobody = Seeker(skills=frozenset(), languages=frozenset({"pt"}), availability=(), needs=frozenset(), area="駒ヶ岳")
    farm = {c.name: (c.score, c.reason) for c in score(nobody, FIXTURE[1]).components}
    assert farm["availability"] == (0.0, "no availability declared")
    assert farm["accessibility"] == (1.0, "no accessibility needs declared")
    assert farm["language"] == (0.0, "works in ja, which the person does not speak")
    assert farm["distance"] == (0.25, "中沢 is not in the area table")
    # Language tags match on their primary subtag: pt speaks to a pt-BR workplace.
    assert {c.name: c.score for c in score(nobody, offer("x", languages=("pt-BR",))).components}["language"] == 1.0
    assert rank(SEEKER, []) == []


def test_skill_tags_are_normalised_to_the_vocabulary() -> None:
    assert normalise_tags(["料理", "調理", " Cooking ", "ＩＴ", "パソコン", "そば打ち", "", "接客"]) == ["cooking", "it", "そば打ち", "sales"]


def test_area_distances_are_symmetric() -> None:
    assert hops("赤穂", "赤穂") == 0 and hops("赤穂", "宮田") == 1 and hops("宮田", "中沢") == 3
    assert hops("中沢", "宮田") == hops("宮田", "中沢") and hops("赤穂", "伊那") is None
