"""Service kit: the building blocks every Komagane service shares.

- settings   environment-driven configuration with safe local defaults
- db         SQLModel engines (SQLite or PostgreSQL) and Alembic migrations at start
- outbox     transactional outbox table and the relay that publishes it to Kafka
- consumer   at-least-once Kafka consumer with dedup by event id and a dead-letter topic
- dlq        the dead-letter header format, shared with the faust processors
- kafka      producer settings, broker readiness and topic creation from the registry
- telemetry  OpenTelemetry traces and metrics, JSON logs carrying trace ids
- errors     RFC 9457 problem+json for every error
- health     /livez and /readyz
- service    assembles the above into a FastAPI app with a managed lifespan
"""
