#!/usr/bin/env python3
"""Read a Komagane partner feed from Kafka: the client the partner guide (docs/partners.md) gives.

Needs only `pip install confluent-kafka` (its wheel bundles a current librdkafka; Debian 12's
kcat links librdkafka 2.0.2, which cannot finish SASL/SCRAM with the platform's Kafka 4 broker).
Copy this one file; nothing else of the platform is needed.

    python partner_consumer.py --config partner.json --topic partner.<partner_id>.<feed>.v1 --from-beginning --exit-at-end

`--config` is the JSON the city hands over (`bootstrap`, `sasl.username`, `sasl.password`,
`sasl.mechanisms`, `security.protocol`); or give `--bootstrap`, `--username` and the password
in KOMAGANE_PARTNER_PASSWORD. Each message is printed as one JSON line: topic, partition, offset,
key (the pseudonym), the CloudEvents headers and the JSON body (null for a tombstone). Reading
happens in the consumer group `--group` (default `<topic>.reader`: a partner may use only groups
named `partner.<partner_id>.…`), which remembers how far it has read. Exit status: 0 at the end
(`--exit-at-end`), after `--max-messages` or `--timeout`; 1 when the broker refuses the login, the
topic or the group, or the end was not reached within `--timeout`.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections.abc import Sequence
from typing import Any, TextIO

from confluent_kafka import OFFSET_BEGINNING, Consumer, KafkaError, Message, TopicPartition

# Errors after which waiting longer cannot help: wrong password, or no right to the topic or group.
FATAL = {
    KafkaError._AUTHENTICATION,
    KafkaError.SASL_AUTHENTICATION_FAILED,
    KafkaError.TOPIC_AUTHORIZATION_FAILED,
    KafkaError.GROUP_AUTHORIZATION_FAILED,
    KafkaError._UNKNOWN_TOPIC,
    KafkaError.UNKNOWN_TOPIC_OR_PART,
}


def client_config(args: argparse.Namespace) -> dict[str, Any]:
    """librdkafka settings from the handed-over JSON file or the command line."""
    given: dict[str, Any] = {}
    if args.config:
        with open(args.config, encoding="utf-8") as handle:
            given = json.load(handle)
    bootstrap = args.bootstrap or given.get("bootstrap") or given.get("bootstrap.servers")
    username = args.username or given.get("sasl.username")
    password = os.environ.get("KOMAGANE_PARTNER_PASSWORD") or given.get("sasl.password")
    if not (bootstrap and username and password):
        raise SystemExit("give --config, or --bootstrap and --username with KOMAGANE_PARTNER_PASSWORD set")
    return {
        "bootstrap.servers": bootstrap,
        "security.protocol": given.get("security.protocol", "SASL_PLAINTEXT"),
        "sasl.mechanisms": given.get("sasl.mechanisms", "SCRAM-SHA-512"),
        "sasl.username": username,
        "sasl.password": password,
        "group.id": args.group or f"{args.topic}.reader",
        "auto.offset.reset": "earliest",
        "enable.partition.eof": True,
    }


def as_json(message: Message) -> dict[str, Any]:
    raw = message.value()
    key = message.key()
    return {
        "topic": message.topic(),
        "partition": message.partition(),
        "offset": message.offset(),
        "key": _text(key),
        "headers": {str(header[0]): _text(header[1]) for header in message.headers() or []},
        "value": json.loads(raw) if raw is not None else None,
    }


def _text(raw: str | bytes | None) -> str | None:
    return raw.decode() if isinstance(raw, bytes) else raw


def _where(message: Message) -> tuple[str, int]:
    return str(message.topic()), int(message.partition() or 0)


def consume(args: argparse.Namespace, out: TextIO) -> int:
    refused: list[KafkaError] = []  # a refused login is reported here, not by poll()
    consumer = Consumer({**client_config(args), "error_cb": lambda error: refused.append(error) if error.code() in FATAL else None})
    assigned: set[tuple[str, int]] = set()
    at_end: set[tuple[str, int]] = set()

    def on_assign(client: Consumer, partitions: list[TopicPartition]) -> None:
        if args.from_beginning:
            for partition in partitions:
                partition.offset = OFFSET_BEGINNING
        assigned.update((p.topic, p.partition) for p in partitions)
        client.assign(partitions)

    consumer.subscribe([args.topic], on_assign=on_assign)
    deadline = time.monotonic() + args.timeout if args.timeout else float("inf")
    printed = 0
    try:
        while time.monotonic() < deadline:
            message = consumer.poll(0.5)
            if refused:
                print(f"kafka: {refused[0].str()}", file=sys.stderr)
                return 1
            if message is None:
                continue
            error = message.error()
            if error is not None:
                if error.code() == KafkaError._PARTITION_EOF:
                    at_end.add(_where(message))
                    if args.exit_at_end and assigned and at_end >= assigned:
                        return 0
                    continue
                print(f"kafka: {error.str()}", file=sys.stderr)
                if error.code() in FATAL or error.fatal():
                    return 1
                continue
            at_end.discard(_where(message))
            print(json.dumps(as_json(message), ensure_ascii=False), file=out, flush=True)
            printed += 1
            if args.max_messages and printed >= args.max_messages:
                return 0
        print(f"stopped after {args.timeout:g} s", file=sys.stderr)
        return 1 if args.exit_at_end else 0
    finally:
        consumer.close()  # commits what was read, so the group goes on from there next time


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--topic", required=True, help="partner.<partner_id>.<feed>.v1")
    parser.add_argument("--config", help="the JSON file with bootstrap and the partner's SASL login")
    parser.add_argument("--bootstrap", help="host:port of the broker (overrides --config)")
    parser.add_argument("--username", help="the partner's login, partner-<partner_id> (overrides --config)")
    parser.add_argument("--group", help="consumer group (default <topic>.reader)")
    parser.add_argument("--from-beginning", action="store_true", help="read the whole retained feed, not just what the group has not read")
    parser.add_argument("--exit-at-end", action="store_true", help="stop once every partition has been read to its end")
    parser.add_argument("--max-messages", type=int, default=0, help="stop after this many messages")
    parser.add_argument("--timeout", type=float, default=0.0, help="stop after this many seconds (default: read on until stopped)")
    return consume(parser.parse_args(argv), sys.stdout)


if __name__ == "__main__":
    raise SystemExit(main())
