"""The real infrastructure besides Kafka (kafka_cluster.py): Redis and PostgreSQL, each on 127.0.0.1."""

from __future__ import annotations

import glob
import logging
import os
import pwd
import shutil
import subprocess
from pathlib import Path

import psycopg

from komagane_devstack.process import ManagedProcess, free_port, wait_until

log = logging.getLogger(__name__)


class RedisServer:
    def __init__(self, log_dir: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.url = f"redis://127.0.0.1:{self.port}/0"
        binary = shutil.which("redis-server") or "/usr/bin/redis-server"
        argv = [binary, "--port", str(self.port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no", "--protected-mode", "yes"]
        self.process = ManagedProcess("redis", argv, log_dir=log_dir)

    def start(self, timeout: float = 20.0) -> None:
        import redis

        self.process.start()
        client = redis.Redis.from_url(self.url)

        def ready() -> bool:
            self.process.check_alive()
            try:
                return bool(client.ping())
            except redis.ConnectionError:
                return False

        wait_until(ready, timeout=timeout, what="Redis PING")
        client.close()

    def stop(self) -> None:
        self.process.stop()


def _pg_bin(name: str) -> str:
    found = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"))
    if found:
        return found[-1]
    path = shutil.which(name)
    if path is None:
        raise RuntimeError(f"PostgreSQL's {name} not found: install the postgresql package")
    return path


class PostgresServer:
    """A throw-away cluster (initdb into `data_dir`, trust auth on 127.0.0.1 only)."""

    def __init__(self, data_dir: Path, log_dir: Path, *, port: int | None = None) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.log_dir = log_dir
        # PostgreSQL refuses to run as root; run it as the `postgres` system user then.
        # A commit reaches the OS before it is acknowledged (synchronous_commit stays on): a
        # killed server then loses nothing it answered for (the chaos suite kills it). Without
        # fsync only a crash of the machine itself could; this cluster is for one machine.
        self._as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        argv = self._as_user + [
            _pg_bin("postgres"), "-D", str(data_dir), "-p", str(self.port), "-k", str(data_dir),
            "-c", "listen_addresses=127.0.0.1", "-c", "fsync=off",
            "-c", "full_page_writes=off", "-c", "max_connections=200",
        ]  # fmt: skip
        self.process = ManagedProcess("postgres", argv, log_dir=log_dir)

    def url(self, database: str = "postgres") -> str:
        return f"postgresql://postgres@127.0.0.1:{self.port}/{database}"

    def start(self, timeout: float = 60.0) -> None:
        if not (self.data_dir / "PG_VERSION").exists():
            self.data_dir.mkdir(parents=True, exist_ok=True)
            if self._as_user:
                user = pwd.getpwnam("postgres")
                os.chown(self.data_dir, user.pw_uid, user.pw_gid)
            subprocess.run(
                self._as_user + [_pg_bin("initdb"), "-D", str(self.data_dir), "-U", "postgres", "--auth=trust", "-E", "UTF8", "--no-sync"],
                check=True,
                capture_output=True,
            )
        self.process.start()

        def ready() -> bool:
            self.process.check_alive()
            try:
                with psycopg.connect(self.url(), connect_timeout=2):
                    return True
            except psycopg.OperationalError:
                return False

        wait_until(ready, timeout=timeout, interval=0.2, what="PostgreSQL connection")

    def create_database(self, name: str) -> str:
        with psycopg.connect(self.url(), autocommit=True) as conn:
            exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", (name,)).fetchone()
            if not exists:
                conn.execute(f'CREATE DATABASE "{name}"')
        return self.url(name)

    def stop(self) -> None:
        self.process.stop()
