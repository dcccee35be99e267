from typing import Any

import faust
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from komagane_contracts.kafka_access import PROFILES_APP_ID
from komagane_kit.kafka import KafkaAuth


class ProfilesSettings(BaseSettings):
    model_config = SettingsConfigDict(extra="ignore")

    service_name: str = "profiles"
    # The faust app id: consumer group, changelog topic prefix (topics.py declares those).
    # The Kafka principal `profiles` may use groups and topics under this prefix only.
    profiles_app_id: str = PROFILES_APP_ID
    kafka_bootstrap_servers: str = "127.0.0.1:9092"
    # Brokers in the cluster: faust's own topics are replicated for it (topics.replication_for).
    kafka_brokers: int = Field(default=1, ge=1)
    redis_url: str = "redis://127.0.0.1:6379/0"
    # rocksdb:// keeps tables on disk (through rocksdict); memory:// is for unit tests only.
    profiles_store: str = "rocksdb://"
    profiles_data_dir: str = "./.data/profiles"
    profiles_web_host: str = "127.0.0.1"
    profiles_web_port: int = 8106
    # A message that fails this many times goes to its topic's DLQ.
    profiles_max_attempts: int = 3
    profiles_retry_backoff_seconds: float = 0.2
    # How often the lapse check reads the people whose lapse is due by now (LapseWatch; event
    # time, see lapses.py), rather than every profile.
    profiles_lapse_check_seconds: float = 60.0
    # How often changed city KPIs are written to Redis and the compacted topic.
    profiles_kpi_flush_seconds: float = 0.5
    # Outputs are written per batch: after this many messages, or this long after one arrived.
    profiles_batch_max_events: int = 1000
    profiles_batch_max_delay_seconds: float = 0.1
    # While the worker is behind (rebuilding, or back after downtime), a batch may grow to this
    # many messages, or until it holds this many people: a person's several events in one batch
    # cost one state load, profile and write. Each person in a batch is held decoded in memory
    # (tens of KB with a year's history) until the flush, so people bound the memory it takes:
    # a few hundred MB at most here, for a third of the town at once.
    profiles_catch_up_batch_max_events: int = 50000
    profiles_catch_up_batch_max_people: int = 10000
    # Hub mixes and KPI totals are aggregates nobody waits for, and a hub's state is large
    # (its recent attendance ids): they are written less often.
    profiles_aggregate_batch_max_events: int = 20000
    profiles_aggregate_batch_max_delay_seconds: float = 1.0
    # How often the worker looks for input partitions that stopped moving (progress.py); one
    # that did not move over three checks in a row while messages wait is sought back to its commit.
    profiles_stall_check_seconds: float = 15.0
    # Longest the broker holds a fetch with nothing new to return: it bounds how long records
    # that arrive meanwhile wait (transport.ConsumerThread).
    profiles_fetch_max_wait_ms: int = 100
    # This worker's static member name in the consumer group (Kafka's group.instance.id): the
    # same for every run of the same worker (with the same data dir), unique among workers.
    # A worker that comes back under its name gets its partitions at once (membership.py).
    # None: a dynamic member, which waits for its dead predecessor's session to expire.
    profiles_instance_id: str | None = None
    # How long the broker waits for a silent member (one gone for good, or stopped: a static
    # member does not leave the group) before it hands its partitions to the other workers.
    profiles_session_timeout_seconds: float = 20.0
    # On a stop, how long the consumer waits for the last batches to be written and committed
    # (each of its steps that needs the broker): with Kafka away they never are (transport.py).
    profiles_stop_wait_seconds: float = 2.0
    # And when the stop began this long ago, whatever still waits for the broker is abandoned:
    # the process ends (worker.py).
    profiles_stop_deadline_seconds: float = 6.0
    # How often the worker checks that Redis still holds its read model (its marker key), and
    # rewrites it from the tables if not (readmodel.py).
    profiles_read_model_check_seconds: float = 1.0
    log_level: str = "INFO"


def faust_broker_settings(settings: ProfilesSettings) -> dict[str, Any]:
    """Every Kafka client setting of the faust app, in one place (security settings go here).

    Idempotent producer with acks from all in-sync replicas; a short linger lets a flush's
    output messages travel in a few requests.
    """
    auth = KafkaAuth.from_env()  # the processor's SASL/SCRAM login, read like every Kafka client's
    return {
        "broker": ";".join(f"kafka://{server}" for server in settings.kafka_bootstrap_servers.split(",")),
        "broker_credentials": None if auth is None else faust.SASLCredentials(username=auth.username, password=auth.password, mechanism=auth.mechanism),
        "producer_acks": -1,
        "producer_enable_idempotence": True,
        "producer_linger": 0.005,
    }
