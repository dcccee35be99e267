"""The fast path of `GET /v1/profiles/{person_id}` (`get_profile` in routes.py).

A frontend showing a person their profile reads it again and again; the answer is usually the
cached rendering of what Redis holds. Through FastAPI that read spends most of its time in
routing, dependency injection and middleware rather than in anything it must do. Here the
request is served when every step is the common case, with the same steps and shared code as
the route:

1. the bearer token is one already verified (tokens.TokenVerifier.remembered);
2. the access matrix allows it (auth.access_refusal) and no staff rule concerns it;
3. the rate-limit token and the profile come from Redis in one batched call (ratelimit.py);
4. the answer comes from the version-checked answer cache (readcache.py), `ETag`/304 built by
   `Rendered.answer` as on the route.

At the first step that is not the common case (a new token, a refusal, a query such as
`min_version`, an absent profile, a 429) the request goes on to the full application, which
answers it with the full error handling, localisation and documentation; a rate-limit decision
already taken travels with it in the request state, so no request takes two tokens. Each request
served here is one server span, as the instrumented path records.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI
from fastapi.routing import APIRoute
from opentelemetry import trace
from opentelemetry.trace import SpanKind
from starlette.types import ASGIApp, Receive, Scope, Send

from komagane_contracts.events.profiles import PersonProfileUpdated
from komagane_contracts.readmodels import profile_key
from komagane_gateway.access import route_class
from komagane_gateway.auth import access_refusal
from komagane_gateway.ratelimit import STATE_KEY, RateLimiter
from komagane_gateway.readcache import ReadCache
from komagane_gateway.staff_rules import staff_rules_apply
from komagane_gateway.tokens import TokenVerifier
from komagane_kit.errors import DEPENDENCY_OUTAGES, unexpected_error_response
from komagane_kit.fastpath import Serve
from komagane_kit.telemetry import context_from_headers

_tracer = trace.get_tracer(__name__)


class CachedProfileRead:
    """The fast path (komagane_kit.fastpath) of the profile route; its path parameter is `person_id`."""

    def bind(self, app: FastAPI, route: APIRoute) -> Serve:
        return _ProfileReads(app.state, route)


class _ProfileReads:
    def __init__(self, state: Any, route: APIRoute) -> None:
        """`state`: the application's state (token_verifier, rate_limiter, read_cache, redis)."""
        self.state = state
        self.span_name = f"GET {route.path}"
        self.route = route.path
        self.rc, _ = route_class("GET", route.path_format.format(person_id="x"))

    async def __call__(self, scope: Scope, receive: Receive, send: Send, params: dict[str, str], full: ASGIApp) -> None:
        if scope["query_string"] or not await self._served(scope, receive, send, params["person_id"]):
            await full(scope, receive, send)

    async def _served(self, scope: Scope, receive: Receive, send: Send, person: str) -> bool:
        """True when the request was answered here; False to pass it on."""
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
        if principal is None or access_refusal(principal, self.rc, person) is not None or staff_rules_apply(principal, "GET", self.rc):
            return False
        limiter: RateLimiter = self.state.rate_limiter
        key = profile_key(person)
        with _tracer.start_as_current_span(self.span_name, context=context_from_headers(scope["headers"]), kind=SpanKind.SERVER) as span:
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
                span.set_attribute("komagane.fast_path", "passed-on")
                return False
            cache: ReadCache = self.state.read_cache
            status, headers, body = cache.render(key, raw, PersonProfileUpdated).answer(if_none_match)
            if decision is not None:
                headers += [(name.lower().encode(), value.encode()) for name, value in decision.headers().items()]
            span.set_attributes({"http.request.method": "GET", "http.route": self.route, "http.response.status_code": status})
            await send({"type": "http.response.start", "status": status, "headers": headers})
            await send({"type": "http.response.body", "body": body})
        return True
