from komagane_kit.settings import ServiceSettings


class ExchangeSettings(ServiceSettings):
    service_name: str = "exchange"
    database_url: str = "sqlite:///./.data/exchange.db"
    host: str = "127.0.0.1"
    port: int = 8102
    # Check-in opens this long before a session starts …
    checkin_opens_minutes: int = 30
    # … and staff may still record attendance this long after it ended (people without phones).
    attendance_grace_hours: int = 72
