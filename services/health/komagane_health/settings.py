from komagane_kit.settings import ServiceSettings


class HealthSettings(ServiceSettings):
    service_name: str = "health"
    database_url: str = "sqlite:///./.data/health.db"
    host: str = "127.0.0.1"
    port: int = 8104
