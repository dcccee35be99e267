"""A second gateway process beside the stack's, configured differently (a dead service, tight limits)."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx

from komagane_devstack.process import wait_until
from komagane_devstack.services import ServiceProcess
from komagane_devstack.stack import Stack


@contextmanager
def extra_gateway(stack: Stack, log_dir: Path, **env: str) -> Iterator[ServiceProcess]:
    """A gateway on its own port, sharing the stack's services, Redis and signing key, with `env`
    overriding its settings (e.g. `EXCHANGE_URL` of a port nothing listens on). Waits for
    liveness only: with a dead service it is never ready, which is the point."""
    upstreams = {f"{name.upper()}_URL": service.url for name, service in stack.pillars.items()}
    full_env = {**stack.common_env(), **upstreams, "DATA_DIR": str(stack.gateway_data_dir), **env}
    gateway = ServiceProcess("gateway-extra", "komagane_gateway.main", log_dir, env=full_env)
    gateway.process.start()
    try:

        def alive() -> bool:
            gateway.process.check_alive()
            try:
                return httpx.get(f"{gateway.url}/livez", timeout=2.0).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(alive, timeout=90, interval=0.2, what="the extra gateway's liveness")
        yield gateway
    finally:
        gateway.stop()
