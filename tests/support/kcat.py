"""kcat, the Debian package's binary, as an outside partner's consumer.

Debian 12's librdkafka (2.0.2) cannot complete SCRAM against Kafka 4 brokers (fixed in librdkafka
2.6.1; edenhill/kcat#462), so kcat runs with the newer librdkafka that the confluent-kafka wheel
bundles (same soname, stable ABI). The client is still code nobody here wrote.
"""

from __future__ import annotations

import hashlib
import json
import os
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import confluent_kafka

from komagane_kit.kafka import KafkaAuth


def _library_path() -> str:
    """A directory holding `librdkafka.so.1` → this environment's bundled library. One per
    library path, and the link is replaced whenever it points elsewhere: a link left by another
    checkout's environment (since deleted) must not stop this one."""
    bundled = sorted((Path(confluent_kafka.__file__).parent.parent / "confluent_kafka.libs").glob("librdkafka-*.so.1"))
    assert bundled, "confluent-kafka wheel without a bundled librdkafka"
    target = str(bundled[0])
    directory = Path(tempfile.gettempdir()) / f"komagane-kcat-librdkafka-{hashlib.sha256(target.encode()).hexdigest()[:12]}"
    directory.mkdir(exist_ok=True)
    link = directory / "librdkafka.so.1"
    if not link.is_symlink() or os.readlink(link) != target:
        staged = directory / f".librdkafka-{os.getpid()}"
        staged.unlink(missing_ok=True)
        staged.symlink_to(target)
        os.replace(staged, link)  # atomic: a concurrent test sees the old link or the new one
    return str(directory)


@dataclass
class KcatResult:
    returncode: int
    messages: list[dict[str, Any]]
    stderr: str

    @property
    def refused(self) -> bool:
        return self.returncode != 0 and "authorization failed" in self.stderr.lower()


def kcat(bootstrap: str, auth: KafkaAuth | None, *args: str, timeout: float = 60) -> KcatResult:
    config = [item for key, value in (auth.librdkafka() if auth else {}).items() for item in ("-X", f"{key}={value}")]
    env = {**os.environ, "LD_LIBRARY_PATH": _library_path()}
    done = subprocess.run(["kcat", "-b", bootstrap, *config, *args], capture_output=True, text=True, timeout=timeout, env=env, check=False)
    messages = [json.loads(line) for line in done.stdout.splitlines() if line.startswith("{")]
    return KcatResult(done.returncode, messages, done.stderr)


def read_all(bootstrap: str, auth: KafkaAuth, topic: str, *extra: str) -> KcatResult:
    """Every message of `topic` from the beginning, as kcat's JSON envelopes; exits at the end."""
    return kcat(bootstrap, auth, "-C", "-t", topic, "-o", "beginning", "-e", "-J", "-q", *extra)
