"""Static membership (komagane_profiles.membership): a worker handed back the assignment of its
previous run, made when it had another web address, takes it instead of failing faust's check."""

from __future__ import annotations

import faust
import pytest
from aiokafka.coordinator.protocol import ConsumerProtocolMemberAssignment
from faust.assignor import PartitionAssignor
from faust.assignor.client_assignment import ClientAssignment, ClientMetadata
from faust.types import TP

from komagane_profiles.membership import StaticMemberAssignor, membership_settings
from komagane_profiles.settings import ProfilesSettings


def handed_back(assignor: PartitionAssignor, url: str) -> ConsumerProtocolMemberAssignment:
    """The assignment the broker keeps for a static member, as made for it at `url`."""
    actives = {"people.v1": [0, 3], "exchange.v1": [0, 3]}
    metadata = ClientMetadata(assignment=ClientAssignment(actives=actives, standbys={}), url=url, changelog_distribution={})
    return ConsumerProtocolMemberAssignment(0, list(actives.items()), assignor._compress(metadata.dumps()))


def test_an_assignment_made_for_the_previous_run_is_taken() -> None:
    app = faust.App("membership-test", store="memory://", web_port=18999)
    assignment = handed_back(StaticMemberAssignor(app), "http://127.0.0.1:18001")
    with pytest.raises(AssertionError):
        PartitionAssignor(app).on_assignment(assignment)  # faust's own check, which killed the coordinator
    assignor = StaticMemberAssignor(app)
    assignor.on_assignment(assignment)
    assert assignor.assigned_actives() == {TP("people.v1", 0), TP("people.v1", 3), TP("exchange.v1", 0), TP("exchange.v1", 3)}
    assert assignor._metadata.url == str(app.conf.canonical_url)


def test_the_worker_names_itself_in_the_group_when_told_to() -> None:
    named = membership_settings(ProfilesSettings(profiles_instance_id="profiles-2", profiles_session_timeout_seconds=20))
    assert named["consumer_group_instance_id"] == "profiles-2" and named["broker_session_timeout"] == 20
    assert named["broker_heartbeat_interval"] < named["broker_session_timeout"] / 2
    assert membership_settings(ProfilesSettings())["consumer_group_instance_id"] is None
