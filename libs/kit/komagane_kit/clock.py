"""Time in the town: every local date is an Asia/Tokyo date; storage is UTC."""

from __future__ import annotations

from datetime import UTC, date, datetime
from zoneinfo import ZoneInfo

TOKYO = ZoneInfo("Asia/Tokyo")


def now() -> datetime:
    return datetime.now(UTC)


def aware(value: datetime) -> datetime:
    """A naive time from a client or a database: naive input means Tokyo wall-clock time."""
    return value.replace(tzinfo=TOKYO) if value.tzinfo is None else value


def from_db(value: datetime) -> datetime:
    """Databases here store UTC; SQLite hands it back naive."""
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value


def tokyo_date(value: datetime) -> date:
    return aware(value).astimezone(TOKYO).date()
