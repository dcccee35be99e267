"""The caller's identity between the gateway and the services: a short-lived signed internal token.

Only the gateway faces the world. It authenticates the caller (bearer JWT) and forwards who they
are to a service in `X-Internal-Token`: an HS256 JWT signed with the secret every process of the
platform shares (`INTERNAL_TOKEN_SECRET`; the devstack generates one per run), valid for a
minute. Every service built by the kit refuses any other request with 401 problem+json, except
its probes and its OpenAPI document (`InternalAuth`). A route reads the verified caller from
`request.state.identity`.
"""

from __future__ import annotations

import functools
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass

import jwt
from starlette.datastructures import Headers
from starlette.types import ASGIApp, Receive, Scope, Send

from komagane_kit.errors import problem_response
from komagane_kit.health import PROBE_PATHS

INTERNAL_TOKEN_HEADER = "X-Internal-Token"
ISSUER = "komagane-gateway"
AUDIENCE = "komagane-services"
ALGORITHM = "HS256"
DEFAULT_TTL_SECONDS = 60
# Paths a service answers without an internal token: probes and its own contract.
EXEMPT_PATHS = PROBE_PATHS | {"/openapi.json"}
LEEWAY_SECONDS = 5
# Verified tokens remembered per process, at most (then forgotten and verified again).
VERIFIED_MAX = 4096
# HS256 secrets shorter than this are refused (RFC 7518 §3.2 asks for at least the hash size).
MIN_SECRET_BYTES = 32


@dataclass(frozen=True)
class Identity:
    """Who the gateway says is calling: subject, roles, and (optionally) the staff member's hub."""

    subject: str
    roles: frozenset[str]
    hub_id: str | None = None


class InternalTokenError(Exception):
    pass


def _key(secret: str) -> bytes:
    key = secret.encode()
    if len(key) < MIN_SECRET_BYTES:
        raise InternalTokenError(f"the internal token secret must be at least {MIN_SECRET_BYTES} bytes (INTERNAL_TOKEN_SECRET)")
    return key


def mint_internal_token(secret: str, identity: Identity, *, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> str:
    return _signed(secret, identity, ttl_seconds, int(time.time()))


# Claims are whole seconds, so one caller's tokens within a second are the same string: the
# gateway signs it once, not on every request it forwards.
@functools.lru_cache(maxsize=VERIFIED_MAX)
def _signed(secret: str, identity: Identity, ttl_seconds: int, issued: int) -> str:
    claims: dict[str, object] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": identity.subject,
        "roles": sorted(identity.roles),
        "iat": issued,
        "exp": issued + ttl_seconds,
    }
    if identity.hub_id:
        claims["hub"] = identity.hub_id
    return jwt.encode(claims, _key(secret), algorithm=ALGORITHM)


def verify_internal_token(secret: str, token: str, *, now: float | None = None) -> Identity:
    return _verify(secret, token, time.time() if now is None else now)[0]


def _verify(secret: str, token: str, now: float) -> tuple[Identity, float]:
    """The identity and the token's expiry (epoch seconds, leeway included)."""
    try:
        claims = jwt.decode(
            token,
            _key(secret),
            algorithms=[ALGORITHM],
            audience=AUDIENCE,
            issuer=ISSUER,
            # Expiry is checked below against `now`, the same clock that ends a remembered token.
            options={"require": ["exp", "iat", "sub"], "verify_exp": False},
            leeway=LEEWAY_SECONDS,
        )
    except jwt.PyJWTError as exc:
        raise InternalTokenError(str(exc)) from exc
    expires = float(claims["exp"]) + LEEWAY_SECONDS
    if expires <= now:
        raise InternalTokenError("Signature has expired")
    roles = claims.get("roles")
    if not isinstance(roles, list) or not all(isinstance(r, str) for r in roles):
        raise InternalTokenError("roles claim missing or malformed")
    hub = claims.get("hub")
    return Identity(subject=str(claims["sub"]), roles=frozenset(roles), hub_id=str(hub) if hub else None), expires


def internal_headers(
    secret: str, *, subject: str = "test-caller", roles: Iterable[str] = ("admin",), hub_id: str | None = None, ttl_seconds: int = DEFAULT_TTL_SECONDS
) -> dict[str, str]:
    """The header a caller inside the platform sends (the gateway, in-process tests, benchmarks)."""
    return {INTERNAL_TOKEN_HEADER: mint_internal_token(secret, Identity(subject=subject, roles=frozenset(roles), hub_id=hub_id), ttl_seconds=ttl_seconds)}


class InternalAuth:
    """ASGI middleware: every HTTP request but the exempt paths needs a valid internal token."""

    def __init__(self, app: ASGIApp, secret: str, exempt: frozenset[str] = EXEMPT_PATHS, clock: Callable[[], float] = time.time) -> None:
        self.app = app
        self.secret = secret
        self.exempt = exempt
        self._clock = clock
        # The gateway mints a token per request, but one caller's tokens are the same string
        # within a second: verified once, a token is trusted until it expires. Only the holder
        # of the secret can make a string that matches.
        self._verified: dict[str, tuple[Identity, float]] = {}

    def _identity(self, token: str) -> Identity:
        now = self._clock()
        known = self._verified.get(token)
        if known is not None and now < known[1]:
            return known[0]
        identity, expires = _verify(self.secret, token, now)
        if len(self._verified) >= VERIFIED_MAX:
            self._verified.clear()
        self._verified[token] = (identity, expires)
        return identity

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] in self.exempt:
            await self.app(scope, receive, send)
            return
        token = Headers(scope=scope).get(INTERNAL_TOKEN_HEADER)
        if not token:
            detail = "This service is reached through the gateway only: the internal token is missing."
        else:
            try:
                identity = self._identity(token)
            except InternalTokenError as exc:
                detail = f"The internal token is not valid: {exc}"
            else:
                scope.setdefault("state", {})["identity"] = identity
                await self.app(scope, receive, send)
                return
        response = problem_response(
            401, "internal-token-required", detail, instance=scope["path"], headers={"WWW-Authenticate": 'Bearer realm="komagane-internal"'}
        )
        await response(scope, receive, send)
