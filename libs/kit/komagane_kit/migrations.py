"""What every service's Alembic environment does, so each `env.py` is three lines.

Migrations run online against the connection handed over by `komagane_kit.db.run_migrations`.
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import context, op
from sqlalchemy import MetaData


def run_env(target_metadata: MetaData | None = None) -> None:
    connection = context.config.attributes.get("connection")
    if connection is None:
        raise RuntimeError("run migrations through komagane_kit.db.run_migrations")
    context.configure(connection=connection, target_metadata=target_metadata, render_as_batch=True)
    with context.begin_transaction():
        context.run_migrations()


def create_outbox_table() -> None:
    """The outbox every event-publishing service has (see komagane_kit.outbox)."""
    op.create_table(
        "outbox",
        sa.Column("id", sa.BigInteger().with_variant(sa.Integer(), "sqlite"), primary_key=True, autoincrement=True),
        sa.Column("event_id", sa.String(64), nullable=False, unique=True),
        sa.Column("topic", sa.String(200), nullable=False),
        sa.Column("message_key", sa.String(200), nullable=True),
        sa.Column("event_type", sa.String(200), nullable=False),
        sa.Column("headers", sa.Text(), nullable=False),
        sa.Column("payload", sa.Text(), nullable=False),
        sa.Column("traceparent", sa.String(64), nullable=True),
        sa.Column("tracestate", sa.String(512), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
        sa.Column("published_at", sa.DateTime(), nullable=True),
        sa.Column("attempts", sa.Integer(), nullable=False, server_default="0"),
        sa.Column("last_error", sa.String(500), nullable=True),
    )
    op.create_index("ix_outbox_unpublished", "outbox", ["published_at", "id"])


def create_inbox_table() -> None:
    """Event ids already handled by a consumer group (see komagane_kit.consumer)."""
    op.create_table(
        "inbox",
        sa.Column("consumer_group", sa.String(200), primary_key=True),
        sa.Column("event_id", sa.String(64), primary_key=True),
        sa.Column("handled_at", sa.DateTime(), nullable=False),
    )


def create_known_person_table() -> None:
    """The local replica of registered people (see komagane_kit.people_replica)."""
    op.create_table(
        "known_person",
        sa.Column("person_id", sa.String(36), primary_key=True),
        sa.Column("age_band", sa.String(10), nullable=False),
        sa.Column("residency_status", sa.String(20), nullable=False),
        sa.Column("registered_at", sa.DateTime(), nullable=False),
        sa.Column("replicated_at", sa.DateTime(), nullable=False),
    )


def create_idempotency_table() -> None:
    """Stored first responses per Idempotency-Key (see komagane_kit.idempotency)."""
    op.create_table(
        "idempotency_key",
        sa.Column("key", sa.String(300), primary_key=True),
        sa.Column("request_hash", sa.String(64), nullable=False),
        sa.Column("status", sa.Integer(), nullable=True),
        sa.Column("headers", sa.Text(), nullable=True),
        sa.Column("body", sa.LargeBinary(), nullable=True),
        sa.Column("created_at", sa.DateTime(), nullable=False),
    )


def create_erased_person_table() -> None:
    """The erasure registry: digests of erased person ids (see komagane_kit.erasure), and the
    table whose row, inside an erasure's own transaction only, lets an append-only table's
    trigger accept that erasure's pseudonymisation."""
    op.create_table(
        "erased_person",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("erased_at", sa.DateTime(), nullable=False),
    )
    op.create_table("erasure_in_progress", sa.Column("digest", sa.String(64), primary_key=True))
