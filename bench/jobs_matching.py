"""Time to rank 5,000 open opportunities for one person (the jobs service's matching).

Builds synthetic opportunities from a fixed seed (skills, weekly slots, accommodations,
languages, areas), then ranks them several times and prints the median, best and worst time.
Also times the step the API adds before ranking: turning stored rows into matching inputs.
Prints figures; it never passes or fails on timing.

    python -m bench.jobs_matching [--opportunities 5000] [--runs 9]
"""

from __future__ import annotations

import argparse
import random
import statistics
import time

from komagane_contracts.events.jobs import Accommodation, Arrangement
from komagane_jobs.areas import ADJACENT
from komagane_jobs.lookups import dump
from komagane_jobs.matching import Offer, Seeker, Slot, rank
from komagane_jobs.models import Opportunity
from komagane_jobs.skills import VOCABULARY
from komagane_jobs.views import offer

SKILLS = sorted(VOCABULARY)
AREAS = sorted(ADJACENT) + ["伊那", None]
ACCOMMODATIONS = [a.value for a in Accommodation]
LANGUAGES = ["ja", "en", "pt-BR", "vi", "zh"]


def synthetic_rows(count: int, rng: random.Random) -> list[Opportunity]:
    rows = []
    for i in range(count):
        slots = []
        for day in rng.sample(range(7), rng.randint(0, 5)):
            start = rng.randrange(6, 18)
            slots.append({"weekday": day, "start": f"{start:02d}:00:00", "end": f"{start + rng.randint(1, 6):02d}:00:00"})
        rows.append(
            Opportunity(
                id=f"opp-{i:05d}",
                title=f"opportunity {i}",
                organisation="bench",
                area=rng.choice(AREAS),
                arrangement=rng.choice(list(Arrangement)).value,
                paid=True,
                weekly_slots=dump(slots),
                min_weekly_hours=float(rng.choice([0, 2, 4, 8])) if slots else 0.0,
                skills_wanted=dump(rng.sample(SKILLS, rng.randint(0, 4))),
                accommodations=dump(rng.sample(ACCOMMODATIONS, rng.randint(0, 4))),
                languages=dump(rng.sample(LANGUAGES, rng.randint(1, 2))),
            )
        )
    return rows


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--opportunities", type=int, default=5000)
    parser.add_argument("--runs", type=int, default=9)
    args = parser.parse_args()

    rng = random.Random(20260401)
    rows = synthetic_rows(args.opportunities, rng)
    seeker = Seeker(
        skills=frozenset({"cooking", "sales", "it"}),
        languages=frozenset({"ja", "pt-BR"}),
        availability=(Slot(0, 9 * 60, 15 * 60), Slot(2, 9 * 60, 12 * 60), Slot(4, 13 * 60, 17 * 60)),
        needs=frozenset({"WHEELCHAIR_ACCESS", "FLEXIBLE_START"}),
        area="赤穂",
    )

    convert, ranking = [], []
    offers: list[Offer] = []
    for _ in range(args.runs):
        started = time.perf_counter()
        offers = [offer(row) for row in rows]
        convert.append(time.perf_counter() - started)
        started = time.perf_counter()
        ranked = rank(seeker, offers)
        ranking.append(time.perf_counter() - started)

    def line(label: str, times: list[float]) -> str:
        ms = [t * 1000 for t in times]
        return f"{label:<34} median {statistics.median(ms):7.1f} ms   min {min(ms):7.1f} ms   max {max(ms):7.1f} ms"

    print(f"opportunities {len(offers)}, runs {args.runs}, top score {ranked[0].score}, bottom score {ranked[-1].score}")
    print(line("rows -> matching inputs", convert))
    print(line("rank (score, reasons, sort)", ranking))
    print(line("both (what GET …/matches adds)", [a + b for a, b in zip(convert, ranking, strict=True)]))


if __name__ == "__main__":
    main()
