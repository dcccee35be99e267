"""Town simulator: a deterministic synthetic Komagane driven through the gateway's public API.

`plan_town` + `plan_history` make the plan (pure, seeded); `Loader` puts it into a running
platform (setup, backfill with past event times, live trickle); `simulate` does all of it.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import date, datetime

from komagane_simulator.gateway import Gateway, Stats
from komagane_simulator.load import Loader
from komagane_simulator.rhythm import TOKYO, Day, plan_history
from komagane_simulator.town import Town, plan_town


@dataclass
class Loaded:
    town: Town
    ids: dict[str, str]
    stats: Stats
    seconds: float

    def showcase(self) -> str | None:
        """A person worth opening: opted in, with weekly habits and no stretch away."""
        for person in self.town.people:
            if "PROFILE" in person.consents and len(person.habits) >= 1 and person.away is None and person.key in self.ids:
                return self.ids[person.key]
        return None


def today() -> date:
    return datetime.now(TOKYO).date()


async def load_town(
    gateway_url: str,
    token: Callable[[], str],
    *,
    seed: int = 2026,
    population: int = 2000,
    history_days: int = 90,
    as_of: date | None = None,
    concurrency: int = 16,
    progress: Callable[[str], None] | None = None,
) -> Loaded:
    """Plan the town for `seed` and put it, with `history_days` of past activity, into the platform."""
    began = time.monotonic()
    town = plan_town(seed, population, as_of or today())
    history = plan_history(town, history_days)
    gateway = Gateway(gateway_url, token, concurrency=concurrency)
    loader = Loader(gateway, town, progress=progress)
    try:
        await loader.setup(history_days)
        await loader.backfill(history)
    finally:
        await gateway.aclose()
    return Loaded(town, loader.ids, gateway.stats, time.monotonic() - began)


async def keep_alive(gateway_url: str, token: Callable[[], str], town: Town, ids: dict[str, str], stop: asyncio.Event, *, per_second: float = 2.0) -> Stats:
    """The live trickle until `stop` is set."""
    gateway = Gateway(gateway_url, token, concurrency=4)
    try:
        loader = Loader(gateway, town, ids=ids)
        await loader.upcoming()  # sessions to reserve in the coming weeks, topped up on every start
        await loader.live(stop, per_second=per_second)
    finally:
        await gateway.aclose()
    return gateway.stats


__all__ = ["Day", "Gateway", "Loaded", "Loader", "Stats", "Town", "keep_alive", "load_town", "plan_history", "plan_town", "today"]
