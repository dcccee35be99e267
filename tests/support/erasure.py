"""Looking for a person id anywhere in a database: every column of every row of every table."""

from __future__ import annotations

import sqlalchemy as sa
from sqlalchemy.engine import Engine


def rows_mentioning(engine: Engine, needle: str) -> dict[str, int]:
    """Per table, the rows in which any column (text, JSON, bytes, anything) contains `needle`."""
    found: dict[str, int] = {}
    metadata = sa.MetaData()
    with engine.connect() as connection:
        metadata.reflect(bind=connection)
        for table in metadata.sorted_tables:
            hits = 0
            for row in connection.execute(sa.select(table)):
                for value in row:
                    raw = value if isinstance(value, bytes) else str(value).encode()
                    if needle.encode() in raw:
                        hits += 1
                        break
            if hits:
                found[table.name] = hits
    return found
