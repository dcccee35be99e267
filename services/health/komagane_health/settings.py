from komagane_kit.settings import ServiceSettings


class HealthSettings(ServiceSettings):
    service_name: str = "health"
    database_url: str = "sqlite:///./.data/health.db"
    host: str = "127.0.0.1"
    port: int = 8104
    # Activity batches carry thousands of rows (a 10,000-row CSV is about 600 KB).
    max_body_bytes: int = 8 * 1024 * 1024
    # Largest number of rows in one daily-activity batch.
    max_batch_rows: int = 20_000
    # A day with at least this many steps earns `step_goal_points` (once per person-day).
    step_goal: int = 8_000
    step_goal_points: int = 10
