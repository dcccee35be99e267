"""Local orchestration of the real parts, shared by `make up` and the test harness.

Each piece (Kafka broker, Redis, PostgreSQL, a service process) is a small class that starts a
real process on 127.0.0.1, waits until it is *usable* (not merely listening) and stops it
cleanly. `Stack` composes them.
"""
