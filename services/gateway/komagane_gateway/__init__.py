"""API gateway: routes /v1/... to the pillar services and serves read models from Redis."""
