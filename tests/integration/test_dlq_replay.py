"""`python -m komagane_kit.dlq_replay`: a dead letter goes back to its topic, without its dlq_* headers."""

from __future__ import annotations

import asyncio
import uuid

import pytest

from komagane_contracts.topics import PEOPLE, TopicSpec, dlq_name
from komagane_devstack.stack import Stack
from komagane_kit.dlq import dead_letter_headers
from komagane_kit.dlq_replay import main
from komagane_kit.kafka import ensure_topics
from tests.support.kafka import header, produce, read_topic


async def replay_cli(argv: list[str]) -> int:
    """The command as an operator runs it (its own event loop, so in a thread here)."""
    return await asyncio.to_thread(main, argv)


async def _dead_letter(stack: Stack, topic: str, key: bytes, value: bytes) -> None:
    headers = dead_letter_headers(
        [("traceparent", b"00-" + b"1" * 32 + b"-" + b"2" * 16 + b"-01"), ("ce_id", key)],
        RuntimeError("fixed since"),
        topic=topic,
        partition=0,
        offset=7,
        attempts=3,
        consumer_group="test-group",
    )
    await produce(stack.kafka.bootstrap, dlq_name(topic), key=key, value=value, headers=headers)


async def test_replays_one_letter_or_all_to_the_original_topic(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    topic = f"replay-{uuid.uuid4().hex[:8]}.v1"
    spec = TopicSpec(topic, "person_id", (), PEOPLE.sensitivity, "test", partitions=1)
    await ensure_topics(stack.kafka.bootstrap, [spec, spec.dlq()])
    for n in range(3):
        await _dead_letter(stack, topic, f"person-{n}".encode(), f'{{"n": {n}}}'.encode())

    assert await replay_cli([stack.kafka.bootstrap, dlq_name(topic), "--offset", "1", "--dry-run"]) == 0
    assert "would replay" in capsys.readouterr().out
    assert await read_topic(stack.kafka.bootstrap, topic) == []

    assert await replay_cli([stack.kafka.bootstrap, dlq_name(topic), "--offset", "1"]) == 0
    assert f"replayed {dlq_name(topic)}@1 → {topic} (key person-1, failed with RuntimeError)" in capsys.readouterr().out
    [again] = await read_topic(stack.kafka.bootstrap, topic)
    assert (again.key, again.value) == (b"person-1", b'{"n": 1}')
    assert header(again, "traceparent") and header(again, "ce_id") == "person-1"
    assert not [name for name, _ in again.headers if name.startswith("dlq_")]

    assert await replay_cli([stack.kafka.bootstrap, dlq_name(topic), "--from-offset", "0"]) == 0
    assert [r.key for r in await read_topic(stack.kafka.bootstrap, topic)] == [b"person-1", b"person-0", b"person-1", b"person-2"]
    assert len(await read_topic(stack.kafka.bootstrap, dlq_name(topic))) == 3  # the letters stay: an audit trail


async def test_refuses_a_topic_that_is_not_a_dlq(stack: Stack, capsys: pytest.CaptureFixture[str]) -> None:
    assert await replay_cli([stack.kafka.bootstrap, "exchange.v1", "--offset", "0"]) == 2
    assert "not a dead-letter topic" in capsys.readouterr().err
