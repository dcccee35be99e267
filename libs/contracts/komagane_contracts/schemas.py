"""JSON Schema per event type and an AsyncAPI 3.0 document, generated from the models.

`komagane-schemas write` refreshes the published copies kept under version control in
`komagane_contracts/published/`; `komagane-schemas check` fails when a model changed in a way
that is not additive (a field removed, retyped or newly required), or when the published copy
is stale. Breaking changes need a new event type (`…v2`).
"""

from __future__ import annotations

import argparse
import json
import sys
from importlib import resources
from pathlib import Path
from typing import Any

from komagane_contracts.events.base import EventModel
from komagane_contracts.registry import ALL_EVENTS
from komagane_contracts.topics import PRODUCTION_BROKERS, TOPICS, replication_for

PUBLISHED_DIR = Path(__file__).parent / "published"
ASYNCAPI_FILE = "asyncapi.json"


def event_schema(cls: type[EventModel]) -> dict[str, Any]:
    schema = cls.model_json_schema()
    schema["$schema"] = "https://json-schema.org/draft/2020-12/schema"
    schema["$id"] = f"urn:komagane:schema:{cls.event_type}"
    schema["x-sensitivity"] = cls.sensitivity.value
    if cls.raised_sensitivity is not None:
        schema["x-sensitivity-raised"] = {"level": cls.raised_sensitivity.level.value, "when": cls.raised_sensitivity.when}
    schema["x-controller"] = cls.controller.value
    return schema


def schema_filename(event_type: str) -> str:
    return f"{event_type}.json"


def asyncapi_document() -> dict[str, Any]:
    channels: dict[str, Any] = {}
    operations: dict[str, Any] = {}
    messages: dict[str, Any] = {}
    for spec in TOPICS:
        if spec.internal:
            continue
        channel_messages = {}
        for cls in spec.value_types:
            name = cls.__name__
            messages[name] = {
                "name": cls.event_type,
                "title": name,
                "summary": (cls.__doc__ or name).strip().splitlines()[0],
                "contentType": "application/json",
                "headers": _headers_schema(cls),
                "payload": event_schema(cls),
                "bindings": {"kafka": {"key": {"type": "string", "description": spec.key}}},
            }
            channel_messages[name] = {"$ref": f"#/components/messages/{name}"}
        channel_id = spec.name.replace(".", "-")
        channels[channel_id] = {
            "address": spec.name,
            "description": spec.description,
            "messages": channel_messages,
            "bindings": {
                "kafka": {
                    "topic": spec.name,
                    "partitions": spec.partitions,
                    "replicas": replication_for(PRODUCTION_BROKERS).factor,
                    "topicConfiguration": {"cleanup.policy": [spec.cleanup_policy]},
                }
            },
            "x-sensitivity": spec.sensitivity.value,
        }
        operations[f"receive-{channel_id}"] = {
            "action": "receive",
            "channel": {"$ref": f"#/channels/{channel_id}"},
            "messages": [{"$ref": f"#/channels/{channel_id}/messages/{m}"} for m in channel_messages],
        }
    return {
        "asyncapi": "3.0.0",
        "info": {
            "title": "Komagane Lifelong-Active Town events",
            "version": "1.0.0",
            "description": "CloudEvents 1.0 in Kafka binary mode (ce_* headers, JSON body).",
        },
        "defaultContentType": "application/json",
        "channels": channels,
        "operations": operations,
        "components": {"messages": messages},
    }


def _headers_schema(cls: type[EventModel]) -> dict[str, Any]:
    const = {"type": "string"}
    return {
        "type": "object",
        "required": ["ce_specversion", "ce_id", "ce_source", "ce_type", "ce_time", "content-type"],
        "properties": {
            "ce_specversion": {"const": "1.0"},
            "ce_id": const,
            "ce_source": {"const": cls.source},
            "ce_type": {"const": cls.event_type},
            "ce_time": {"type": "string", "format": "date-time"},
            "ce_subject": const,
            "ce_sensitivity": _sensitivity_schema(cls),
            "ce_controller": {"const": cls.controller.value},
            "content-type": {"const": "application/json"},
            "traceparent": const,
            "tracestate": const,
        },
    }


def _sensitivity_schema(cls: type[EventModel]) -> dict[str, Any]:
    """The classes the type declares (EventModel.raised_sensitivity), with the condition."""
    raised = cls.raised_sensitivity
    if raised is None:
        return {"const": cls.sensitivity.value}
    return {"enum": [s.value for s in cls.sensitivities()], "description": raised.when}


def generated() -> dict[str, dict[str, Any]]:
    files = {schema_filename(cls.event_type): event_schema(cls) for cls in ALL_EVENTS}
    files[ASYNCAPI_FILE] = asyncapi_document()
    return files


def published(name: str) -> dict[str, Any] | None:
    """A published file as shipped in the package (what the gateway serves)."""
    resource = resources.files("komagane_contracts").joinpath("published", name)
    if not resource.is_file():
        return None
    document: dict[str, Any] = json.loads(resource.read_text(encoding="utf-8"))
    return document


def incompatibilities(old: dict[str, Any], new: dict[str, Any], path: str = "", roots: tuple[dict[str, Any], dict[str, Any]] | None = None) -> list[str]:
    """Ways in which `new` is not an additive evolution of `old` (JSON Schema objects).

    Nested models are compared the same way, so adding an optional field deep inside is fine.
    """
    old_root, new_root = roots or (old, new)
    problems: list[str] = []
    old_props: dict[str, Any] = old.get("properties", {})
    new_props: dict[str, Any] = new.get("properties", {})
    for name, old_prop in old_props.items():
        where = f"{path}{name}"
        if name not in new_props:
            problems.append(f"{where}: removed")
            continue
        problems += _value_incompatibilities(old_prop, new_props[name], where, (old_root, new_root))
    newly_required = set(new.get("required", [])) - set(old.get("required", []))
    for name in sorted(newly_required):
        problems.append(f"{path}{name}: newly required")
    return problems


def _value_incompatibilities(old: dict[str, Any], new: dict[str, Any], where: str, roots: tuple[dict[str, Any], dict[str, Any]]) -> list[str]:
    old, new = _resolve(old, roots[0]), _resolve(new, roots[1])
    if "anyOf" in old and "anyOf" in new and len(old["anyOf"]) == len(new["anyOf"]):
        problems: list[str] = []
        for old_option, new_option in zip(old["anyOf"], new["anyOf"], strict=True):
            problems += _value_incompatibilities(old_option, new_option, where, roots)
        return problems
    if "properties" in old and "properties" in new:
        return incompatibilities(old, new, f"{where}.", roots)
    if _shape(old) != _shape(new):
        return [f"{where}: type changed"]
    return []


def _resolve(prop: dict[str, Any], root: dict[str, Any]) -> dict[str, Any]:
    if "$ref" in prop:
        target = prop["$ref"].rsplit("/", 1)[-1]
        resolved: dict[str, Any] = root.get("$defs", {}).get(target, prop)
        return resolved
    return prop


def _shape(prop: dict[str, Any]) -> dict[str, Any]:
    """What constrains values, without documentation keys."""
    ignored = {"title", "description", "default", "examples"}
    return {k: v for k, v in prop.items() if k not in ignored}


def check(directory: Path = PUBLISHED_DIR) -> list[str]:
    problems: list[str] = []
    current = generated()
    for path in sorted(directory.glob("*.json")):
        if path.name == ASYNCAPI_FILE:
            continue
        old = json.loads(path.read_text(encoding="utf-8"))
        new = current.get(path.name)
        if new is None:
            problems.append(f"{path.name}: event type removed (publish a new type instead)")
            continue
        problems += [f"{path.name}: {p}" for p in incompatibilities(old, new)]
    for name, content in current.items():
        path = directory / name
        if not path.exists() or json.loads(path.read_text(encoding="utf-8")) != content:
            problems.append(f"{name}: published copy is stale; run `komagane-schemas write`")
    return problems


def write(directory: Path = PUBLISHED_DIR) -> list[Path]:
    directory.mkdir(parents=True, exist_ok=True)
    written = []
    for name, content in generated().items():
        path = directory / name
        path.write_text(json.dumps(content, ensure_ascii=False, indent=2, sort_keys=True) + "\n", encoding="utf-8")
        written.append(path)
    return written


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="komagane-schemas", description=__doc__)
    parser.add_argument("command", choices=["write", "check"])
    args = parser.parse_args(argv)
    if args.command == "write":
        incompatible = [p for p in check() if "stale" not in p]
        if incompatible:
            print("refusing to publish incompatible changes:", *incompatible, sep="\n  ", file=sys.stderr)
            return 1
        for path in write():
            print(path)
        return 0
    problems = check()
    for problem in problems:
        print(problem, file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    raise SystemExit(main())
