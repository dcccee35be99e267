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
    # Bodies up to this size pass the gateway (health batches are several MiB); each service
    # still enforces its own, smaller limit where it has no batch endpoints.
    max_body_bytes: int = 8 * 1024 * 1024
    # Per-request timeout towards a service, in seconds.
    upstream_timeout_seconds: float = 10.0
