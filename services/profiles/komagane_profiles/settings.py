from pydantic_settings import BaseSettings, SettingsConfigDict


class ProfilesSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "profiles"
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    redis_url: str = "redis://127.0.0.1:6379/0"
    # rocksdb:// keeps tables on disk (through rocksdict); memory:// is for unit tests only.
    profiles_store: str = "rocksdb://"
    profiles_data_dir: str = "./.data/profiles"
    profiles_web_host: str = "127.0.0.1"
    profiles_web_port: int = 8106
    # A message that fails this many times goes to its topic's DLQ.
    profiles_max_attempts: int = 3
    profiles_retry_backoff_seconds: float = 0.2
    # How often the lapse check looks over every profile (event-time based; see lapses.py).
    profiles_lapse_check_seconds: float = 60.0
    # How often changed city KPIs are written to Redis and the compacted topic.
    profiles_kpi_flush_seconds: float = 0.5
    log_level: str = "INFO"
