from pathlib import Path

from komagane_kit.settings import ServiceSettings


class GatewaySettings(ServiceSettings):
    service_name: str = "gateway"
    host: str = "127.0.0.1"
    port: int = 8100
    people_url: str = "http://127.0.0.1:8101"
    exchange_url: str = "http://127.0.0.1:8102"
    jobs_url: str = "http://127.0.0.1:8103"
    health_url: str = "http://127.0.0.1:8104"
    housing_url: str = "http://127.0.0.1:8105"
    partners_url: str = "http://127.0.0.1:8107"
    # Bodies up to this size pass the gateway (health batches are several MiB); each service
    # still enforces its own, smaller limit where it has no batch endpoints.
    max_body_bytes: int = 8 * 1024 * 1024
    # Timeout of writes towards a service, in seconds (reads and batches: resilience.ROUTE_TIMEOUTS).
    upstream_timeout_seconds: float = 10.0
    upstream_read_timeout_seconds: float = 5.0
    # Opening a connection to a service; a service that is down is known within this.
    upstream_connect_timeout_seconds: float = 1.0
    # Circuit breaker per service: consecutive failures that open it, and how long it stays open.
    circuit_failure_threshold: int = 5
    circuit_open_seconds: float = 10.0
    # The gateway's own files (the development signing key).
    data_dir: Path = Path("./.data/gateway")
    # Swagger UI's files for /docs (npm's swagger-ui-dist); unset: the repository's install (docs.py).
    swagger_ui_dir: Path | None = None

    # Bearer tokens (OAuth2 access tokens, JWT). Production configures the identity provider's
    # issuer and audience and either its JWKS URL or a PEM public key; with neither, the gateway
    # signs and accepts tokens with a development key it generates in `data_dir` on first start
    # (`make token ROLE=…`), unless `auth_allow_development_key` is off (then it refuses to start).
    auth_issuer: str = "komagane-dev"
    auth_audience: str = "komagane-api"
    auth_jwks_url: str = ""
    auth_public_key_pem: str = ""
    auth_algorithms: tuple[str, ...] = ("RS256", "ES256", "EdDSA")
    auth_allow_development_key: bool = True
    # Tolerated clock difference with the identity provider, in seconds.
    auth_leeway_seconds: int = 30
    # Rate limits per client and route class (token buckets in Redis, ratelimit.py): sustained
    # requests per second and burst. Generous by default: they stop a runaway client.
    rate_limit_enabled: bool = True
    rate_limit_read_per_second: float = 200.0
    rate_limit_read_burst: int = 1000
    rate_limit_write_per_second: float = 50.0
    rate_limit_write_burst: int = 300
    # Idempotency-Key (idempotency.py): how long a first answer is kept, and how long a repeat
    # waits for a first request that is still running.
    idempotency_ttl_seconds: int = 24 * 3600
    idempotency_wait_seconds: float = 10.0
    # Rendered profile and KPI answers kept in memory (readcache.py); 0 turns the cache off.
    read_cache_entries: int = 10_000
    # How often an open profile stream (GET /v1/people/{id}/stream) looks at the read model.
    profile_stream_poll_seconds: float = 0.5
    # Lifetime of the internal tokens the gateway signs for the services.
    internal_token_ttl_seconds: int = 60
