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
    # Per-request timeout towards a service, in seconds.
    upstream_timeout_seconds: float = 10.0
