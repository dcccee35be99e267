from komagane_kit.settings import ServiceSettings


class HousingSettings(ServiceSettings):
    service_name: str = "housing"
    database_url: str = "sqlite:///./.data/housing.db"
    host: str = "127.0.0.1"
    port: int = 8105
