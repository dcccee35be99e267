"""The front door: the hottest read answered before the framework, forwarded requests served
without it (fastforward.py), everything else passed on.

A frontend showing a person their profile reads `GET /v1/profiles/{id}` again and again; the
answer is usually the cached rendering of what Redis holds. Through FastAPI that read spends
most of its time in routing, dependency injection and middleware rather than in anything it must
do. `FrontDoor` wraps the whole application (ASGI) and serves exactly that request itself when
every step is the common case, doing the same steps as the full path with the same shared code:

1. the bearer token is one already verified (tokens.TokenVerifier.remembered);
2. the access matrix allows it (auth.access_refusal) and no staff rule concerns it;
3. the rate-limit token and the profile come from Redis in one batched call (ratelimit.py);
4. the answer comes from the version-checked answer cache (readcache.py), `ETag`/304 included.

At the first step that is not the common case (a new token, a refusal, a query such as
`min_version`, an absent profile, a 429) the request goes on to the full application, which
answers it with the full error handling, localisation and documentation; a rate-limit decision
already taken travels with it in the request state, so no request takes two tokens. The answer
is byte-for-byte the one the full path gives (the gateway tests read both ways). Each request
served here is one server span, as the instrumented path records.

Requests the application would hand to `routes.forward` — every write, and the reads the gateway
only passes on — go to `fastforward.DirectForward` when one is given: the same functions as the
full path, without routing, dependency injection and the framework's middleware.
"""

from __future__ import annotations

import re
from typing import Any

from opentelemetry import trace
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Receive, Scope, Send

from komagane_contracts.events.profiles import PersonProfileUpdated
from komagane_contracts.readmodels import profile_key
from komagane_gateway.access import route_class
from komagane_gateway.auth import access_refusal
from komagane_gateway.fastforward import DirectForward
from komagane_gateway.ratelimit import STATE_KEY, RateLimiter
from komagane_gateway.readcache import ReadCache
from komagane_gateway.staff_rules import staff_rules_apply
from komagane_gateway.tokens import TokenVerifier
from komagane_kit.errors import DEPENDENCY_OUTAGES, unexpected_error_response
from komagane_kit.telemetry import context_from_headers

PROFILE_PATH = re.compile(r"/v1/profiles/(?P<person>[^/]+)")
ROUTE = "/v1/profiles/{person_id}"
_tracer = trace.get_tracer(__name__)


class FrontDoor:
    def __init__(self, app: ASGIApp, state: Any, forwarder: DirectForward | None = None) -> None:
        """`state`: the application's state (token_verifier, rate_limiter, read_cache, redis)."""
        self.app = app
        self.state = state
        self.forwarder = forwarder
        self.rc, _ = route_class("GET", "/v1/profiles/x")

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] == "http":
            if scope["method"] == "GET" and not scope["query_string"] and await self._served(scope, receive, send):
                return
            path = self.forwarder.path_of(scope) if self.forwarder is not None else None
            if path is not None:
                assert self.forwarder is not None
                await self.forwarder(scope, receive, send, path)
                return
        await self.app(scope, receive, send)

    async def _served(self, scope: Scope, receive: Receive, send: Send) -> bool:
        """True when the request was answered here; False to pass it on."""
        found = PROFILE_PATH.fullmatch(scope["path"])
        if found is None:
            return False
        token = if_none_match = None
        for name, value in scope["headers"]:
            if name == b"authorization":
                token = value
            elif name == b"if-none-match":
                if_none_match = value
            elif name == b"x-access-reason":
                return False  # a reason is checked (and used) on the full path alone
        if token is None or token[:7].lower() != b"bearer ":
            return False
        verifier: TokenVerifier = self.state.token_verifier
        principal = verifier.remembered(token[7:].strip().decode("latin-1"))
        person = found["person"]
        if principal is None or access_refusal(principal, self.rc, person) is not None or staff_rules_apply(principal, "GET", self.rc):
            return False
        limiter: RateLimiter = self.state.rate_limiter
        key = profile_key(person)
        with _tracer.start_as_current_span(f"GET {ROUTE}", context=context_from_headers(scope["headers"]), kind=SpanKind.SERVER) as span:
            try:
                decision = await limiter.take(f"sub:{principal.subject}", self.rc.name, write=False, prefetch=(key,))
                raw = decision.prefetched.get(key) if decision is not None else await self.state.redis.get(key)
            except DEPENDENCY_OUTAGES as exc:  # Redis away: 503 with Retry-After, as on every path
                await unexpected_error_response(exc, "GET", scope["path"])(scope, receive, send)
                return True
            if raw is None:
                # Not the common case (a 429 or a 404): the full path answers, with the decision
                # already taken.
                scope.setdefault("state", {})[STATE_KEY] = decision
                span.set_attribute("komagane.front_door", "passed-on")
                return False
            cache: ReadCache = self.state.read_cache
            rendered = cache.render(key, raw, PersonProfileUpdated)
            etag = f'"{rendered.version}"'.encode()
            limits = decision.headers().items() if decision is not None else ()
            headers = [(b"etag", etag), *((name.lower().encode(), value.encode()) for name, value in limits)]
            if if_none_match == etag:
                status, body = 304, b""
            else:
                status, body = 200, rendered.body
                headers += [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
            span.set_attributes({"http.request.method": "GET", "http.route": ROUTE, "http.response.status_code": status})
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        return True
