"""Scale out (issue 7, guarantee 6): with the inputs on 6 partitions, a second profiles worker
in the same consumer group takes over part of them, the two split the work, and the final
state equals the single-worker result — the replay of the input topics, which the single
worker's outputs equal (test_profiles_correctness). When the second worker stops, the first
takes every partition back, and the outputs stay the same.
"""

from __future__ import annotations

from datetime import date

import httpx

from komagane_contracts.topics import HUB_ATTENDANCE, KPI_CONTRIBUTIONS, PEOPLE, PROFILES_PARTITIONS
from komagane_devstack.services import ServiceProcess
from komagane_devstack.stack import Stack
from komagane_profiles.synthetic import people_events
from tests.e2e.test_profiles_correctness import INPUT_TOPICS, outputs_equal_replay, produce_events, produce_population, wait_caught_up
from tests.support.waiting import eventually


async def people_partitions(worker: ServiceProcess) -> set[int]:
    async with httpx.AsyncClient(base_url=worker.url, timeout=5.0) as client:
        response = await client.get("/assignment")
    response.raise_for_status()
    return {int(tp.rsplit(":", 1)[1]) for tp in response.json()["active"] if tp.rsplit(":", 1)[0] == PEOPLE.name}


async def test_two_workers_split_the_partitions_and_give_the_single_worker_result(stack: Stack) -> None:
    assert stack.profiles is not None
    first = stack.profiles
    # A dynamic member (the first's static name would fence the first out): it leaves the group when stopped.
    env = {name: value for name, value in first.env.items() if name not in ("PROFILES_WEB_PORT", "PROFILES_INSTANCE_ID")}
    env["PROFILES_DATA_DIR"] = str(stack.config.data_dir / "profiles-second")
    second = ServiceProcess("profiles-second", "komagane_profiles", stack.log_dir, port_env="PROFILES_WEB_PORT", env=env)
    second.start()
    try:

        async def split() -> bool:
            mine, theirs = await people_partitions(first), await people_partitions(second)
            return bool(mine) and bool(theirs) and not (mine & theirs) and mine | theirs == set(range(PROFILES_PARTITIONS))

        await eventually(split, timeout=120, interval=0.5, what="the two workers to split the 6 partitions")
        messages = list(people_events(people=300, events_per_person=15, start=date(2016, 1, 4), days=120, seed=14))
        await produce_events(stack.kafka.bootstrap, await produce_population(stack, messages))
        await wait_caught_up(stack, [*INPUT_TOPICS, HUB_ATTENDANCE.name, KPI_CONTRIBUTIONS.name], timeout=180)
        assert await split(), "both workers kept their share while folding"
        await outputs_equal_replay(stack, timeout=120)
    finally:
        second.stop()

    async def all_back() -> bool:
        return await people_partitions(first) == set(range(PROFILES_PARTITIONS))

    await eventually(all_back, timeout=120, interval=0.5, what="the first worker to take every partition back")
    await outputs_equal_replay(stack, timeout=120)
