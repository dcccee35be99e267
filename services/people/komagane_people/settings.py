from komagane_kit.settings import ServiceSettings


class PeopleSettings(ServiceSettings):
    service_name: str = "people"
    database_url: str = "sqlite:///./.data/people.db"
    host: str = "127.0.0.1"
    port: int = 8101
