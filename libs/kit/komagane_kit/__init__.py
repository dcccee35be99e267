"""Service kit: what every Komagane service does the same way. One line per module, by concern
(a unit test keeps this list and the package's modules equal).

Assembling a service
- service          assembles a pillar service: FastAPI app, database, migrations, outbox relay, telemetry, health
- settings         configuration from environment variables, with defaults that work on a laptop
- health           /livez (the process answers) and /readyz (its dependencies answer)
- periodic         background jobs that run one database transaction every few seconds

HTTP: requests in, problems out
- errors           RFC 9457 problem+json for every error a service or the gateway returns
- openapi          every problem an operation can answer, declared in its OpenAPI document
- inputs           what a plausible value from a client is: the types every request model uses
- strict_body      JSON bodies checked against their schema's JSON types before the model reads them
- pagination       opaque cursor pagination
- idempotency      `Idempotency-Key` for POST requests, stored in the service's own database
- internal_auth    the caller's identity between the gateway and the services (a signed internal token)
- fastpath         a route's common case served before the framework, declared on the route (grouped writes)
- groupcommit      what concurrent requests ask of a store goes in one round trip
- http_telemetry   one SERVER span and the http.server.* metrics per request

Data
- db               engines (SQLite by default, PostgreSQL by URL) and the request's unit of work
- migrations       what every service's Alembic environment does
- lookups          find rows or answer with a problem, check people, lock a row, publish an event
- remembered       ids found in a table whose rows are never deleted, remembered per process
- people_replica   the local replica of registered people every pillar service keeps
- disclosure       what a service holds about one person, for the disclosure export (開示)
- erasure          forgetting an erased person, the same way in every service's database
- clock            time in the town: local dates are Asia/Tokyo dates; storage is UTC
- months           calendar months in requests (YYYY-MM, ranges): checked once for every route

Kafka
- kafka            client settings, broker readiness, topic creation from the registry
- kafka_provision  every principal's SCRAM login and ACLs from the rights table (devstack and kafka-init)
- outbox           events written as rows in the state change's transaction, and the relay that publishes them
- outbox_lease     one publishing relay per database, however many replicas run (an advisory lock)
- outbox_reconcile which rows a relay that died had published already, so its successor does not again
- consumer         at-least-once consumer with dedup by event id and a dead-letter topic
- dlq              the dead-letter header format, shared with the faust processors
- dlq_replay       replays dead letters to the topic they came from, after the fault is fixed
- quietlogs        one log line per change of the broker's state instead of a stream of connection errors

Telemetry
- telemetry        OpenTelemetry traces and metrics, and JSON logs that carry the trace id
"""
