"""The parts of faust's private API the profiles transport and batching rely on, pinned.

`komagane_profiles.transport` replaces faust's message loop (`_drain_messages`) with a copy that
fences deliveries around rebalances, and `batching` sets faust's `_current_event`. Neither is a
public API: a faust release may change them without notice. These tests fail loudly when one
does, naming what to re-check, instead of letting the worker misbehave quietly.
"""

from __future__ import annotations

import contextvars
import hashlib
import inspect
import re
from importlib.metadata import version
from pathlib import Path

import faust.streams
from faust.transport import consumer as faust_consumer
from faust.transport.drivers import aiokafka as faust_aiokafka

ROOT = Path(__file__).resolve().parents[2]
# The source of faust's own loop that transport.Consumer._drain_messages was written from.
DRAIN_MESSAGES_SHA256 = "44a2500309e83c630493f6828af50166ec8d96a0b3e4fb2bab735f704ae93417"


def test_faust_is_pinned_to_one_release_everywhere() -> None:
    installed = version("faust-streaming")
    constraint = re.search(r"^faust-streaming==(\S+)$", (ROOT / "constraints.txt").read_text(), re.MULTILINE)
    requirement = re.search(r'"faust-streaming==([^"]+)"', (ROOT / "services/profiles/pyproject.toml").read_text())
    assert constraint and requirement, "faust-streaming must be pinned with == in constraints.txt and the profiles package"
    assert constraint.group(1) == requirement.group(1) == installed


def test_the_message_loop_the_transport_replaces_is_the_one_it_was_written_from() -> None:
    source = inspect.getsource(faust_consumer.Consumer._drain_messages)
    assert hashlib.sha256(source.encode()).hexdigest() == DRAIN_MESSAGES_SHA256, (
        "faust's Consumer._drain_messages changed: compare it with komagane_profiles.transport.Consumer._drain_messages, "
        "carry the change over, then update DRAIN_MESSAGES_SHA256"
    )


def test_the_hooks_the_transport_overrides_keep_their_signatures() -> None:
    expected = {
        "_drain_messages": ["self", "fetcher"],
        "_wait_next_records": ["self", "timeout"],
        "perform_seek": ["self"],
        "_new_consumer_thread": ["self"],
        "_add_gap": ["self", "tp", "offset_from", "offset_to"],
        "wait_empty": ["self"],
        "commit_and_end_transactions": ["self"],
        "on_partitions_assigned": ["self", "assigned", "generation_id"],
        "on_partitions_revoked": ["self", "revoked"],
        "getmany": ["self", "timeout"],
        "resume_partitions": ["self", "tps"],
    }
    for name, parameters in expected.items():
        method = getattr(faust_aiokafka.Consumer, name)
        assert list(inspect.signature(method).parameters) == parameters, name
    assert inspect.iscoroutinefunction(faust_aiokafka.Consumer._drain_messages)
    assert hasattr(faust_aiokafka.AIOKafkaConsumerThread, "_ensure_consumer")
    assert list(inspect.signature(faust_aiokafka.AIOKafkaConsumerThread._create_worker_consumer).parameters) == ["self", "transport"]
    assert isinstance(faust_consumer.CONSUMER_FETCHING, str)


def test_the_state_the_transport_reads_is_still_faust_consumer_state() -> None:
    source = inspect.getsource(faust_consumer.Consumer)
    for attribute in ("_read_offset", "_committed_offset", "_commit_every", "_n_acked", "_paused_partitions", "suspend_flow", "can_resume_flow"):
        assert re.search(rf"\b{attribute}\b", source), f"faust's Consumer no longer has {attribute}"


def test_batching_sets_the_context_variable_faust_reads_the_current_event_from() -> None:
    assert isinstance(faust.streams._current_event, contextvars.ContextVar)
    assert "_current_event" in inspect.getsource(faust.streams.current_event)
