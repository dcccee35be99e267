from komagane_kit.settings import ServiceSettings


class JobsSettings(ServiceSettings):
    service_name: str = "jobs"
    database_url: str = "sqlite:///./.data/jobs.db"
    host: str = "127.0.0.1"
    port: int = 8103
