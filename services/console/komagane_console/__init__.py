"""The Komagane web console: server-rendered pages over the gateway's public API (no database, no Kafka)."""
