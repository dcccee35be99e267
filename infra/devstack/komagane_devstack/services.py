"""The platform's own processes, started with the interpreter running this code."""

from __future__ import annotations

import sys
from pathlib import Path

import httpx

from komagane_devstack.process import ManagedProcess, free_port, wait_until


class ServiceProcess:
    """A service that answers `GET /readyz` with 200 once it can do its job."""

    def __init__(self, name: str, module: str, log_dir: Path, *, port: int | None = None, env: dict[str, str] | None = None, port_env: str = "PORT") -> None:
        self.name = name
        self.port = port or free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.env = {port_env: str(self.port), "PYTHONUNBUFFERED": "1", **(env or {})}
        self.process = ManagedProcess(name, [sys.executable, "-m", module], log_dir=log_dir, env=self.env)

    def start(self, timeout: float = 90.0) -> None:
        self.process.start()
        self.wait_ready(timeout)

    def wait_ready(self, timeout: float = 90.0) -> None:
        def ready() -> bool:
            self.process.check_alive()
            try:
                return httpx.get(f"{self.url}/readyz", timeout=2.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=timeout, interval=0.2, what=f"{self.name} readiness")

    def stop(self, grace: float = 20.0) -> None:
        self.process.stop(grace=grace)
