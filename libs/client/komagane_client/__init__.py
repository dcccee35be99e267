"""The platform's own callers' client of the gateway (the simulator, the benchmarks, later the
web console): writes retried with their Idempotency-Key until answered, `Retry-After` honoured,
and what is still unanswered at the deadline reported as pending, never silently lost."""

from komagane_client.client import ClientStats, Pending, PlatformClient
from komagane_client.lean import LeanTransport
from komagane_client.replies import ClientError, ConnectFailed, ExchangeFailed, ProtocolError, Reply
from komagane_client.retry import RETRY_STATUSES, RetryPolicy, parse_retry_after

__all__ = [
    "RETRY_STATUSES",
    "ClientError",
    "ClientStats",
    "ConnectFailed",
    "ExchangeFailed",
    "LeanTransport",
    "Pending",
    "PlatformClient",
    "ProtocolError",
    "Reply",
    "RetryPolicy",
    "parse_retry_after",
]
