"""Each partner's own contract: a JSON Schema per message type of its feeds, and an AsyncAPI 3.0
document listing only its topics. Generated from its agreements and the catalogue, so the
schema says exactly what the feed processor may put on the topic (additionalProperties: false).
"""

from __future__ import annotations

from typing import Any

from komagane_partners.catalogue import AGE_FIELD, CATALOGUE, HUB_FIELD
from komagane_partners.feeds import DELETION_NOTICE
from komagane_partners.models import Agreement

SCHEMA_DIALECT = "https://json-schema.org/draft/2020-12/schema"
DATE = {"type": "string", "format": "date"}
PSEUDONYM = {"type": "string", "pattern": "^[0-9a-f]{64}$", "description": "HMAC-SHA256 of the person with this partner's key"}


def message_schema(agreement: Agreement, event_type: str) -> dict[str, Any]:
    if event_type == DELETION_NOTICE:
        return {
            "$schema": SCHEMA_DIALECT,
            "title": DELETION_NOTICE,
            "description": (
                "The person withdrew consent (consent-withdrawn) or was erased at their request (person-erased): delete everything held under this pseudonym"
            ),
            "type": "object",
            "properties": {"pseudonym": PSEUDONYM, "date": DATE, "notice": {"enum": ["consent-withdrawn", "person-erased"]}},
            "required": ["pseudonym", "date", "notice"],
            "additionalProperties": False,
        }
    shareable = CATALOGUE[event_type]
    source = shareable.model.model_json_schema(mode="serialization")
    properties: dict[str, Any] = {"date": {**DATE, "description": "The event's date (Asia/Tokyo)"}}
    required = ["date"]
    if shareable.person_level:
        properties["pseudonym"] = PSEUDONYM
        required.append("pseudonym")
    for name in agreement.fields:
        kind = shareable.fields.get(name)
        if kind == "keep":
            properties[name] = source["properties"][name]
        elif kind == "date":
            properties[name] = {"anyOf": [DATE, {"type": "null"}]}
        elif kind == "hub":
            properties[HUB_FIELD] = {"anyOf": [{"type": "string"}, {"type": "null"}], "description": "The hub's name"}
        elif name == AGE_FIELD and shareable.person_level:
            properties[AGE_FIELD] = {"anyOf": [{"type": "string", "pattern": r"^(\d0-\d9|90\+)$"}, {"type": "null"}]}
        else:
            continue
        required.append(HUB_FIELD if kind == "hub" else name)
    schema: dict[str, Any] = {
        "$schema": SCHEMA_DIALECT,
        "title": event_type,
        "type": "object",
        "properties": properties,
        "required": required,
        "additionalProperties": False,
    }
    if "$defs" in source:
        schema["$defs"] = source["$defs"]
    return schema


def message_types(agreement: Agreement) -> list[str]:
    person_level = any(CATALOGUE[t].person_level for t in agreement.event_types)
    return agreement.event_types + ([DELETION_NOTICE] if person_level else [])


def partner_asyncapi(partner_id: str, agreements: list[Agreement]) -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for agreement in agreements:
        channel_id = agreement.feed
        channel_messages = {}
        for event_type in message_types(agreement):
            message_id = f"{agreement.feed}.{event_type}"
            messages[message_id] = {
                "name": event_type,
                "contentType": "application/json",
                "payload": message_schema(agreement, event_type),
                "bindings": {"kafka": {"key": {"type": "string", "description": "pseudonym (person-level messages)"}}},
            }
            channel_messages[event_type.replace(".", "_")] = {"$ref": f"#/components/messages/{message_id}"}
        channels[channel_id] = {
            "address": agreement.topic,
            "description": f"{agreement.purpose} ({agreement.legal_basis.value}; {agreement.starts_on} – {agreement.ends_on}; "
            f"kept {agreement.retention_days} days)",
            "messages": channel_messages,
        }
        operations[f"receive-{channel_id}"] = {"action": "receive", "channel": {"$ref": f"#/channels/{channel_id}"}}
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": f"Komagane partner feeds for {partner_id}",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 in Kafka binary mode (ce_* headers, JSON body). Pseudonymous; dates only; consent withdrawals "
            "arrive as deletion notices. Read with your own SASL/SCRAM login, in consumer groups named partner.<partner_id>.*",
        },
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }
