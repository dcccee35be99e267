"""Dead-letter format shared by the kit's consumer and the faust processors.

A dead-lettered message keeps its key, value and original headers, and gains `dlq_*` headers
saying where it came from and why it failed.
"""

from __future__ import annotations

import traceback
from collections.abc import Iterable
from datetime import UTC, datetime

from komagane_contracts.topics import dlq_name

DLQ_HEADER_PREFIX = "dlq_"


def dead_letter_headers(
    original: Iterable[tuple[str, bytes]],
    error: BaseException,
    *,
    topic: str,
    partition: int,
    offset: int,
    attempts: int,
    consumer_group: str,
) -> list[tuple[str, bytes]]:
    kept = [(name, value) for name, value in original if not name.startswith(DLQ_HEADER_PREFIX)]
    detail = "".join(traceback.format_exception_only(type(error), error)).strip()
    return kept + [
        ("dlq_original_topic", topic.encode()),
        ("dlq_original_partition", str(partition).encode()),
        ("dlq_original_offset", str(offset).encode()),
        ("dlq_consumer_group", consumer_group.encode()),
        ("dlq_error_class", type(error).__qualname__.encode()),
        ("dlq_error_message", detail[:2000].encode()),
        ("dlq_attempts", str(attempts).encode()),
        ("dlq_failed_at", datetime.now(UTC).isoformat().encode()),
    ]


__all__ = ["DLQ_HEADER_PREFIX", "dead_letter_headers", "dlq_name"]
